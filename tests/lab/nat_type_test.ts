/**
 * `tun debug nat-type` from behind every lab router kind, against a tun relay
 * with two addresses (--stun-alt-host), must classify mapping and filtering as
 * coturn's own `turnutils_natdiscovery` does against a coturn in the same lab.
 */
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import { isRoot, nextEvent, TUN } from "../_util/tun.ts";
import { createLab, type RouterKind } from "./netns.ts";
import {
  ALT_PORT,
  clientCommand,
  parseNatDiscovery,
  serverCommand,
  STUN_PORT,
} from "./natdiscovery.ts";
import { waitForSockets } from "./sockets.ts";

const KINDS: RouterKind[] = [
  "none",
  "full-cone",
  "address-restricted",
  "port-restricted",
  "symmetric",
  "udp-blocked",
];

Deno.test({
  name: "tun debug nat-type agrees with coturn's natdiscovery behind every router kind",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const siteName = (kind: RouterKind) => kind.replaceAll("-", "").slice(0, 12);
    await using lab = await createLab({
      sites: Object.fromEntries(KINDS.map((kind) => [siteName(kind), kind])),
    });
    const dir = await Deno.makeTempDir({ prefix: "tun-nattype-" });
    try {
      const { ip, altIp } = lab.internet;
      await using coturn = lab.spawn(lab.internet.ns, serverCommand(lab, dir));
      for (const address of [ip, altIp]) {
        for (const port of [STUN_PORT, ALT_PORT]) {
          await waitForSockets(lab, lab.internet.ns, ["-ul", `src ${address}:${port}`]).catch(
            (e) => {
              throw new Error(`${e.message}\nturnserver:\n${coturn.lines.join("\n")}`);
            },
          );
        }
      }
      // tun's relay on the same two addresses, on ports of its own.
      await using relay = lab.spawn(lab.internet.ns, [
        ...TUN,
        "relay",
        "--listen",
        `${ip}:0`,
        "--stun-port",
        "0",
        "--stun-alt-host",
        altIp,
        "--json",
      ]);
      const listening = await nextEvent(relay, "listening");
      const relayUrl = `http://${ip}:${listening.port}`;

      const results = await Promise.all(KINDS.map(async (kind) => {
        const ns = lab.site(siteName(kind)).ns;
        const [theirs, ours, human] = await Promise.all([
          lab.exec(ns, clientCommand(lab), { timeoutMs: 30_000 }),
          lab.exec(ns, [...TUN, "debug", "nat-type", "--relay", relayUrl, "--json"], {
            timeoutMs: 30_000,
          }),
          lab.exec(ns, [...TUN, "debug", "nat-type", "--relay", relayUrl], { timeoutMs: 30_000 }),
        ]);
        return { kind, theirs, ours, human };
      }));

      for (const { kind, theirs, ours, human } of results) {
        const what = `${kind}:\n${ours.stdout}${ours.stderr}\n--- natdiscovery:\n${theirs.stdout}`;
        assertEquals(ours.code, 0, what);
        const report = JSON.parse(ours.stdout.trim());
        const coturn = parseNatDiscovery(theirs.stdout);
        for (
          const field of ["udp", "public_address", "mapping", "filtering", "hairpin", "verdict"]
        ) {
          assert(field in report, `${kind}: --json has ${field}`);
        }
        if (kind === "udp-blocked") {
          assertEquals([coturn.mapping, coturn.filtering], [null, null], what);
          assertEquals(report.udp, false, what);
          assert(
            report.elapsed_ms < 3000,
            `${kind}: UDP blocked reported in ${report.elapsed_ms} ms`,
          );
        } else {
          assertEquals(report.udp, true, what);
          assertEquals(
            { mapping: report.mapping, filtering: report.filtering },
            { mapping: coturn.mapping, filtering: coturn.filtering },
            what,
          );
          const publicIp = lab.site(siteName(kind)).publicIp;
          assert(String(report.public_address).startsWith(`${publicIp}:`), what);
        }
        console.log(
          `  ${kind.padEnd(18)} mapping ${String(report.mapping).padEnd(26)} filtering ${
            String(report.filtering).padEnd(26)
          } ${report.elapsed_ms} ms  "${report.verdict}"`,
        );
        if (kind === "port-restricted" || kind === "symmetric") {
          console.log(human.stdout.replace(/^/gm, "    "));
        }
      }
      console.log(`  coturn: ${path.basename(serverCommand(lab, dir)[0])} on ${ip}, ${altIp}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
