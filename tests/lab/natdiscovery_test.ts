/**
 * The lab checked by someone else's tool: coturn's RFC 5780 NAT behaviour
 * discovery, run from a site of every kind against coturn's `turnserver` on the
 * lab's internet, must report the mapping and filtering that nat.ts promises.
 * If this test fails, the NAT matrix (matrix_test.ts) proves nothing.
 *
 * The exact commands (serverCommand and clientCommand below, with the lab's
 * addresses filled in; the test prints them too):
 *
 *   # internet namespace: a STUN-only server on two addresses and two ports, so
 *   # it can answer from another address and/or port (RFC 5780 §7.2 CHANGE-REQUEST)
 *   # and name that other address (OTHER-ADDRESS, §7.3)
 *   turnserver -n --no-cli --stun-only --no-auth --no-tcp --no-tls --no-dtls \
 *     --listening-ip 198.18.0.1 --listening-ip 198.18.0.2 \
 *     --listening-port 3478 --alt-listening-port 3479 \
 *     --userdb $TMP/turndb --pidfile $TMP/turnserver.pid --log-file stdout
 *
 *   # each site's host: mapping (RFC 5780 §4.3) and filtering (§4.4) tests
 *   turnutils_natdiscovery -m -f -p 3478 198.18.0.1
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { isRoot } from "../_util/tun.ts";
import { BEHAVIOURS, createLab, type Filtering, type Mapping, type RouterKind } from "./netns.ts";
import {
  ALT_PORT,
  clientCommand,
  parseNatDiscovery,
  serverCommand,
  STUN_PORT,
} from "./natdiscovery.ts";
import { waitForSockets } from "./sockets.ts";

/** natdiscovery's stdout from a lab "symmetric" site (coturn 4.6.1), cut to the lines read. */
const CAPTURED_SYMMETRIC = `
-= Mapping Behavior Discovery =-
0: : IPv4. UDP reflexive addr: 198.18.0.14:39697
0: : IPv4. UDP reflexive addr: 198.18.0.14:49411
0: : IPv4. UDP reflexive addr: 198.18.0.14:8660

========================================
NAT with Address and Port Dependent Mapping!
========================================

-= Filtering Behavior Discovery =-
0: : IPv4. UDP reflexive addr: 198.18.0.14:57348
STUN receive timeout..
STUN receive timeout..

========================================
NAT with Address and Port Dependent Filtering!
========================================
`;

/** natdiscovery's stdout from a lab "udp-blocked" site: no answer at all. */
const CAPTURED_UDP_BLOCKED = `
-= Mapping Behavior Discovery =-
STUN receive timeout..

-= Filtering Behavior Discovery =-
STUN receive timeout..
`;

Deno.test("natdiscovery's verdicts, reflexive addresses and timeouts are read from its report", () => {
  assertEquals(parseNatDiscovery(CAPTURED_SYMMETRIC), {
    mapping: "address-and-port-dependent",
    filtering: "address-and-port-dependent",
    reflexive: ["198.18.0.14:39697", "198.18.0.14:49411", "198.18.0.14:8660", "198.18.0.14:57348"],
    timeouts: 2,
  });
  assertEquals(parseNatDiscovery(CAPTURED_UDP_BLOCKED), {
    mapping: null,
    filtering: null,
    reflexive: [],
    timeouts: 2,
  });
  assertEquals(
    parseNatDiscovery("NAT with Address Dependent Filtering!\n").filtering,
    "address-dependent",
  );
  assertEquals(
    parseNatDiscovery("No NAT! (Endpoint Independent Mapping)\n").mapping,
    "endpoint-independent",
  );
  let error: Error | null = null;
  try {
    parseNatDiscovery("NAT with Somewhat Dependent Mapping!\n");
  } catch (e) {
    error = e as Error;
  }
  assert(
    error?.message.includes("Somewhat Dependent"),
    "an unknown verdict must not pass silently",
  );
});

/** What natdiscovery must say per site kind; null = no STUN answer at all. */
const EXPECTED: Record<RouterKind, { mapping: Mapping; filtering: Filtering } | null> = {
  // A public address with no firewall: every remote endpoint reaches it.
  "none": { mapping: "endpoint-independent", filtering: "endpoint-independent" },
  "full-cone": BEHAVIOURS["full-cone"],
  "address-restricted": BEHAVIOURS["address-restricted"],
  "port-restricted": BEHAVIOURS["port-restricted"],
  "symmetric": BEHAVIOURS["symmetric"],
  "udp-blocked": null,
};

Deno.test({
  name: "coturn's natdiscovery sees each lab router kind map and filter UDP as nat.ts says",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const kinds = Object.keys(EXPECTED) as RouterKind[];
    const siteName = (kind: RouterKind) => kind.replaceAll("-", "").slice(0, 12);
    await using lab = await createLab({
      sites: Object.fromEntries(kinds.map((kind) => [siteName(kind), kind])),
    });
    const dir = await Deno.makeTempDir({ prefix: "tun-natdiscovery-" });
    try {
      await using server = lab.spawn(lab.internet.ns, serverCommand(lab, dir));
      const { ip, altIp } = lab.internet;
      // Ready once all four sockets are bound: each address on each port.
      for (const address of [ip, altIp]) {
        for (const port of [STUN_PORT, ALT_PORT]) {
          await waitForSockets(lab, lab.internet.ns, ["-ul", `src ${address}:${port}`]).catch(
            (error) => {
              throw new Error(`${error.message}\nturnserver output:\n${server.lines.join("\n")}`);
            },
          );
        }
      }

      console.log(`  $ ${serverCommand(lab, dir).join(" ")}`);
      console.log(`  $ ${clientCommand(lab).join(" ")}   (in every site)`);
      // Sites are independent of each other, so they are probed at once.
      const seen = await Promise.all(kinds.map(async (kind) => {
        const site = lab.site(siteName(kind));
        const result = await lab.exec(site.ns, clientCommand(lab), { timeoutMs: 30_000 });
        return { kind, site, result, report: parseNatDiscovery(result.stdout) };
      }));

      for (const { kind, site, result, report } of seen) {
        const what = `${kind}: ${clientCommand(lab).join(" ")}\n${result.stdout}${result.stderr}`;
        assertEquals(result.code, 0, what);
        const expected = EXPECTED[kind];
        if (!expected) {
          assertEquals(
            [report.mapping, report.filtering, report.reflexive],
            [null, null, []],
            what,
          );
          assert(report.timeouts > 0, what);
          console.log(`  ${kind.padEnd(18)} no STUN answer`);
          continue;
        }
        assertEquals(
          { mapping: report.mapping, filtering: report.filtering },
          { mapping: expected.mapping, filtering: expected.filtering },
          what,
        );
        // Every answer saw the site at its public address: the router rewrote the source.
        assert(report.reflexive.length > 0, what);
        for (const address of report.reflexive) {
          assertEquals(address.split(":")[0], site.publicIp, what);
        }
        console.log(
          `  ${kind.padEnd(18)} mapping ${report.mapping}, filtering ${report.filtering}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
