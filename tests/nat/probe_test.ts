/**
 * probeNat against real behaviour servers on loopback (127.0.0.1 and
 * 127.0.0.2 are both loopback on Linux), and against a server that sees its
 * clients through a simulated NAT (_simnat.ts) for every mapping x filtering.
 */
import { assert, assertEquals, assertRejects } from "../_util/assert.ts";
import { type Behaviour, type NatReport, probeNat, Verdicts } from "../../lib/nat/mod.ts";
import { bindUdp, closeUdp, startBehaviourServer, startStunServer } from "../../lib/stun/mod.ts";
import { PUBLIC_IP, startSimulatedNatServer } from "./_simnat.ts";

const BEHAVIOURS: Behaviour[] = [
  "endpoint-independent",
  "address-dependent",
  "address-and-port-dependent",
];

/** The report without what varies from run to run. */
function stable(report: NatReport) {
  const { elapsed_ms: _, public_address: __, ...rest } = report;
  return rest;
}

Deno.test("on 127.0.0.1 with 127.0.0.2 the probe finds no NAT in the way: both endpoint-independent, hairpin", async () => {
  await using server = await startBehaviourServer({
    primaryHost: "127.0.0.1",
    altHost: "127.0.0.2",
    port: 0,
    altPort: 0,
  });
  const report = await probeNat({ host: "127.0.0.1", port: server.port });
  assertEquals(stable(report), {
    udp: true,
    mapping: "endpoint-independent",
    filtering: "endpoint-independent",
    hairpin: true,
    mapping_stable: true,
    verdict: Verdicts.likely,
    untested: [],
  });
  assert(/^127\.0\.0\.1:\d+$/.test(report.public_address!), report.public_address!);
  // Every test was answered: none waited out the probe's 2.5 s deadline.
  assert(report.elapsed_ms < 2500, `took ${report.elapsed_ms} ms`);
});

Deno.test("against a one-address server the probe reports what it could not tell apart", async () => {
  await using server = await startBehaviourServer({
    primaryHost: "127.0.0.1",
    port: 0,
    altPort: 0,
  });
  // With the second port given, and without it (learned from the change-port answer).
  for (const altPort of [server.altPort, undefined]) {
    const report = await probeNat({ host: "127.0.0.1", port: server.port, altPort });
    const what = `altPort ${altPort}: ${JSON.stringify(report)}`;
    assertEquals(report.udp, true, what);
    assertEquals(report.mapping, "endpoint-independent", what);
    assertEquals(report.filtering, "address-dependent", what);
    assertEquals(report.hairpin, true, what);
    assertEquals(report.verdict, Verdicts.likely, what);
    assertEquals(report.untested.length, 2, what);
    assert(report.untested.some((u) => /^mapping: .*one address/.test(u)), what);
    assert(
      report.untested.some((u) => /^filtering: .*one address.*cannot be told apart/.test(u)),
      what,
    );
  }
});

Deno.test("against a plain RFC 8489 server mapping and filtering stay unknown, and the probe says why", async () => {
  await using server = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  const report = await probeNat({ host: "127.0.0.1", port: server.port });
  assertEquals([report.udp, report.mapping, report.filtering], [true, null, null]);
  assertEquals(report.verdict, Verdicts.unknown);
  assert(report.untested.some((u) => u.startsWith("mapping: ")), report.untested.join("\n"));
  assert(
    report.untested.some((u) => /^filtering: .*CHANGE-REQUEST/.test(u)),
    report.untested.join("\n"),
  );
});

Deno.test("a port nothing answers on is reported as UDP blocked within 3 s", async () => {
  const socket = await bindUdp("127.0.0.1", 0);
  const dead = socket.address().port;
  await closeUdp(socket);
  const started = performance.now();
  const report = await probeNat({ host: "127.0.0.1", port: dead });
  const took = performance.now() - started;
  assertEquals(stable(report), {
    udp: false,
    mapping: null,
    filtering: null,
    hairpin: null,
    mapping_stable: null,
    verdict: Verdicts.relay,
    untested: ["everything: no answer from the relay over UDP"],
  });
  assertEquals(report.public_address, null);
  assert(took < 3000 && report.elapsed_ms < 3000, `took ${took.toFixed(0)} ms`);
});

Deno.test("behind each simulated mapping x filtering, a two-address server lets the probe name both", async () => {
  const combos = BEHAVIOURS.flatMap((mapping) =>
    BEHAVIOURS.map((filtering) => ({ mapping, filtering }))
  );
  await Promise.all(combos.map(async (nat) => {
    await using server = await startSimulatedNatServer(nat);
    const report = await probeNat({ host: "127.0.0.1", port: server.port });
    const what = `${JSON.stringify(nat)}: ${JSON.stringify(report)}`;
    assertEquals(
      { mapping: report.mapping, filtering: report.filtering },
      nat,
      what,
    );
    assertEquals([report.udp, report.hairpin, report.mapping_stable], [true, false, true], what);
    assertEquals(report.untested, [], what);
    assert(report.public_address!.startsWith(`${PUBLIC_IP}:`), what);
    // Dropped answers are waited for ~0.8 s after the first answer, not until
    // the probe's 2.5 s deadline (a margin for a loaded machine in between).
    assert(report.elapsed_ms < 2500, what);
  }));
});

Deno.test("behind each simulated NAT, a one-address server tells port-dependence only", async () => {
  const combos = BEHAVIOURS.flatMap((mapping) =>
    BEHAVIOURS.map((filtering) => ({ mapping, filtering }))
  );
  await Promise.all(combos.map(async (nat) => {
    await using server = await startSimulatedNatServer({ ...nat, twoAddresses: false });
    const report = await probeNat({
      host: "127.0.0.1",
      port: server.port,
      altPort: server.altPort,
    });
    const what = `${JSON.stringify(nat)}: ${JSON.stringify(report)}`;
    // Address-dependent mapping keeps one port per server address: with one, it looks
    // endpoint-independent (the documented limit). Filtering: only "by port or not".
    const mapping = nat.mapping === "address-and-port-dependent"
      ? nat.mapping
      : "endpoint-independent";
    const filtering = nat.filtering === "address-and-port-dependent"
      ? nat.filtering
      : "address-dependent";
    assertEquals(
      { mapping: report.mapping, filtering: report.filtering },
      { mapping, filtering },
      what,
    );
    assertEquals(
      report.untested.some((u) => u.startsWith("mapping: ")),
      mapping === "endpoint-independent",
      what,
    );
    assertEquals(
      report.untested.some((u) => u.startsWith("filtering: ")),
      filtering === "address-dependent",
      what,
    );
  }));
});

Deno.test("a one-address server that does not say its second port leaves mapping unknown behind port filtering", async () => {
  await using server = await startSimulatedNatServer({
    mapping: "endpoint-independent",
    filtering: "address-and-port-dependent",
    twoAddresses: false,
  });
  const report = await probeNat({ host: "127.0.0.1", port: server.port });
  assertEquals([report.mapping, report.filtering], [null, "address-and-port-dependent"]);
  assert(
    report.untested.some((u) => /^mapping: .*no second address or port/.test(u)),
    report.untested.join("\n"),
  );
});

Deno.test("a NAT that replaces the mapping between two requests is reported unstable", async () => {
  await using server = await startSimulatedNatServer({
    mapping: "endpoint-independent",
    filtering: "endpoint-independent",
    remapAfterMs: 100,
  });
  const report = await probeNat({ host: "127.0.0.1", port: server.port });
  assertEquals([report.mapping, report.mapping_stable], ["endpoint-independent", false]);
  assertEquals(report.verdict, Verdicts.onlyOpen);
});

Deno.test("probeNat refuses ports outside 1..65535 and hosts that do not resolve", async () => {
  await assertRejects(() => probeNat({ host: "127.0.0.1", port: 0 }), RangeError);
  await assertRejects(
    () => probeNat({ host: "127.0.0.1", port: 3478, altPort: 70000 }),
    RangeError,
  );
  await assertRejects(() => probeNat({ host: "no-such-host.invalid", port: 3478 }), Error);
});

Deno.test("onMapping tells the mapping before the filtering tests have waited out their silence", async () => {
  // Port-dependent filtering: the change-port answer never comes, so the full
  // report waits out the filtering silence; the mapping does not.
  for (const mapping of ["endpoint-independent", "address-and-port-dependent"] as const) {
    await using server = await startSimulatedNatServer({
      mapping,
      filtering: "address-and-port-dependent",
      twoAddresses: false,
    });
    const started = performance.now();
    let early: { mapping: Behaviour; public_address: string; ms: number } | undefined;
    const report = await probeNat({
      host: "127.0.0.1",
      port: server.port,
      altPort: server.altPort,
      onMapping: (m) => early = { ...m, ms: performance.now() - started },
    });
    assert(early, `no early mapping (${mapping})`);
    assertEquals(early.mapping, report.mapping);
    assertEquals(early.public_address, report.public_address);
    assert(early.ms < report.elapsed_ms, `early ${early.ms} ms, report ${report.elapsed_ms} ms`);
  }
});
