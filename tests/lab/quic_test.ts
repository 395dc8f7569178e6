/**
 * The QUIC data plane across real NATs (netns.ts): the relay on the lab's
 * internet, host and guest behind their own Linux routers, the guest with
 * `--transport quic`. Two port-restricted NATs open to each other by a
 * simultaneous open from the endpoints the relay observed; a symmetric NAT
 * facing a port-restricted one cannot, and the streams go through the
 * relay's QUIC splice instead. Root only, and Deno's QUIC.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { createLab } from "./netns.ts";
import type { RouterKind } from "./nat.ts";
import {
  client,
  isRoot,
  nextEvent,
  randomFile,
  startApp,
  startGuest,
  startHost,
  startRelay,
} from "../_util/tun.ts";
import { hasQuic } from "../../lib/runtime/mod.ts";

const MB = 1024 * 1024;
const P2P_TIMEOUT_S = 8;

async function quicAcross(
  kinds: { host: RouterKind; guest: RouterKind },
  expected: "direct" | "relay",
) {
  await using lab = await createLab({ sites: kinds });
  const blob = await randomFile(16 * MB);
  try {
    const hostSite = lab.site("host");
    const guestSite = lab.site("guest");
    const relay = await startRelay(lab.internet.ns, lab.internet.ip);
    await using _relay = relay.proc;
    const app = await startApp(hostSite.ns, blob.dir);
    await using _app = app.proc;
    const host = await startHost(hostSite.ns, app.info.port, ["--relay", relay.info.url]);
    await using _host = host.proc;

    const guest = await startGuest(guestSite.ns, host.info.code, [
      "--relay",
      relay.info.url,
      "--transport",
      "quic",
      "--p2p-timeout",
      `${P2P_TIMEOUT_S}s`,
    ]);
    await using _guest = guest.proc;
    assertEquals([guest.info.transport, guest.info.path], ["quic", expected]);
    // Within the p2p timeout, whichever way the path was decided.
    assert(
      Number(guest.info.elapsed_ms) < (P2P_TIMEOUT_S + 2) * 1000,
      `ready after ${guest.info.elapsed_ms} ms`,
    );
    const hostPath = await nextEvent(host.proc, "path");
    assertEquals([hostPath.transport, hostPath.path], ["quic", expected]);
    if (expected === "direct") {
      // The host sees the guest at its router's public address: a NAT-to-NAT path.
      assert(
        String(hostPath.remote_address).startsWith(`${guestSite.publicIp}:`),
        `host sees ${hostPath.remote_address}, guest's NAT is ${guestSite.publicIp}`,
      );
    }

    const down = await client(guestSite.ns, ["download", String(guest.info.port), blob.name]);
    assertEquals(down.bytes, 16 * MB);
    assertEquals(down.sha256, blob.sha256);
    const mbps = (16 * MB / 1e6) / (Number(down.ms) / 1000);
    const why = guest.proc.lines.map((l) => /"event":"path".*"reason":"([^"]*)"/.exec(l)?.[1])
      .find(Boolean);
    console.log(
      `  ${kinds.host} host, ${kinds.guest} guest: QUIC ${expected}` +
        (expected === "relay" ? ` (${why})` : "") +
        `; ready ${guest.info.wall_ms} ms wall, ${guest.info.elapsed_ms} ms in tun; ` +
        `rtt ${guest.info.rtt_ms} ms; 16 MB in ${Math.round(Number(down.ms))} ms = ` +
        `${mbps.toFixed(1)} MB/s`,
    );
  } finally {
    await Deno.remove(blob.dir, { recursive: true });
  }
}

const opts = { ignore: !isRoot() || !hasQuic(), sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...opts,
  name:
    "QUIC: peers behind two port-restricted NATs connect directly by a simultaneous open and move 16 MB intact",
  fn: () => quicAcross({ host: "port-restricted", guest: "port-restricted" }, "direct"),
});

Deno.test({
  ...opts,
  name:
    "QUIC: a symmetric guest and a port-restricted host fall back to the relay's splice within the p2p timeout, 16 MB intact",
  fn: () => quicAcross({ host: "port-restricted", guest: "symmetric" }, "relay"),
});

Deno.test({
  ...opts,
  name:
    "QUIC: a symmetric host reaches a full-cone guest directly, its own dial being the one that gets through",
  fn: () => quicAcross({ host: "symmetric", guest: "full-cone" }, "direct"),
});
