/**
 * The relay's limits (relay/limits.ts) on real sockets, set low: whoever goes
 * over one is refused with a reason, and everyone else carries on. Clients
 * come from different loopback addresses (127.0.0.x) to be different users.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { startRelay } from "../../relay/mod.ts";
import type { RelayLimitsOptions } from "../../relay/limits.ts";
import { forwarder, type RawClient, rawClient, signalAt } from "./_raw.ts";
import { errorCodeOf, TestTurnClient } from "../turn/_client.ts";
import {
  getAttribute,
  RequestedTransport,
  setAttribute,
  TRANSPORT_UDP,
  XorRelayedAddress,
} from "../../lib/stun/mod.ts";

type Relay = Awaited<ReturnType<typeof startRelay>>;

/**
 * A relay on 127.0.0.1 with `limits`; `at(ip)` is a URL that reaches it from
 * source address `ip` (through a forwarder), so clients differ by address.
 */
async function withRelay(
  limits: RelayLimitsOptions,
  fn: (at: (ip: string) => Promise<string>, relay: Relay) => Promise<void>,
  extra: Parameters<typeof startRelay>[0] = {},
) {
  const relay = await startRelay({ hostname: "127.0.0.1", port: 0, stunPort: 0, limits, ...extra });
  const forwarders = new Map<string, Awaited<ReturnType<typeof forwarder>>>();
  const at = async (ip: string) => {
    if (!forwarders.has(ip)) forwarders.set(ip, await forwarder(relay.port, ip));
    return forwarders.get(ip)!.url;
  };
  try {
    await fn(at, relay);
  } finally {
    await relay.close();
    for (const f of forwarders.values()) await f.close();
  }
}

/** A connected client that has had its welcome. */
async function connect(url: string): Promise<RawClient> {
  const c = rawClient(signalAt(url));
  await c.next("welcome");
  return c;
}

async function host(url: string) {
  const c = await connect(url);
  c.send({ t: "host" });
  return { c, name: (await c.next("hosted")).name };
}

/** Try to join `name`; the relay's error message if refused, else "joined". */
async function join(url: string, name: string): Promise<{ c: RawClient; outcome: string }> {
  const c = await connect(url);
  c.send({ t: "join", name });
  const outcome = await c.next("joined").then(
    () => "joined",
    () =>
      (c.messages.find((m) => m.t === "error") as { message: string } | undefined)?.message ?? "?",
  );
  return { c, outcome };
}

/** Host and guest still exchange signalling. */
async function stillWorks(hostC: RawClient, guestC: RawClient) {
  const before = hostC.messages.filter((m) => m.t === "signal").length;
  guestC.send({ t: "signal", peer: 0, epoch: 0, data: { kind: "end-of-candidates" } });
  for (let i = 0; i < 50; i++) {
    if (hostC.messages.filter((m) => m.t === "signal").length > before) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("signalling between host and guest stopped");
}

Deno.test("join attempts past the per-address limit are refused with a reason; other addresses and sessions go on", async () => {
  await withRelay({ joinsPerIpPerMinute: 3, joinsPerCodePerMinute: 100 }, async (at) => {
    const h = await host(await at("127.0.0.1"));
    const g = await join(await at("127.0.0.1"), h.name);
    assertEquals(g.outcome, "joined");
    // Two scans for codes that do not exist use up 127.0.0.1's attempts...
    assert((await join(await at("127.0.0.1"), "ZZZZ")).outcome.includes("no such join code"));
    assert((await join(await at("127.0.0.1"), "YYYY")).outcome.includes("no such join code"));
    // ...so the fourth, even for a real code, is refused, and says why.
    const refused = await join(await at("127.0.0.1"), h.name);
    assert(
      /too many join attempts from 127\.0\.0\.1 .*try again in \d+ s/.test(refused.outcome),
      refused.outcome,
    );
    assertEquals((await refused.c.closed).code, 1008);
    // Another address joins the same code; the first pair still talks.
    assertEquals((await join(await at("127.0.0.2"), h.name)).outcome, "joined");
    await stillWorks(h.c, g.c);
  });
});

Deno.test("join attempts past the per-code limit are refused for that code only", async () => {
  await withRelay({ joinsPerCodePerMinute: 2 }, async (at) => {
    const a = await host(await at("127.0.0.1"));
    const b = await host(await at("127.0.0.1"));
    const g1 = await join(await at("127.0.0.2"), a.name);
    assertEquals(g1.outcome, "joined");
    assertEquals((await join(await at("127.0.0.3"), a.name)).outcome, "joined");
    const third = await join(await at("127.0.0.4"), a.name);
    assert(third.outcome.includes(`too many join attempts for code ${a.name}`), third.outcome);
    // Another code is unaffected, and so is the pair already in the first session.
    assertEquals((await join(await at("127.0.0.4"), b.name)).outcome, "joined");
    await stillWorks(a.c, g1.c);
  });
});

Deno.test("sessions past the per-address limit are refused until one ends", async () => {
  await withRelay({ sessionsPerIp: 2 }, async (at, relay) => {
    const first = await host(await at("127.0.0.1"));
    await host(await at("127.0.0.1"));
    const third = await connect(await at("127.0.0.1"));
    third.send({ t: "host" });
    const err = await third.next("hosted").catch((e: Error) => e.message);
    assert(
      String(err).includes("too many sessions from 127.0.0.1 (at most 2 at once)"),
      String(err),
    );
    assertEquals(relay.sessions.size, 2);
    // Another address may host; and once a session ends, this one may again.
    await host(await at("127.0.0.2"));
    first.c.close();
    await first.c.closed;
    for (let i = 0; relay.sessions.size !== 2 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await host(await at("127.0.0.1"));
    assertEquals(relay.sessions.size, 3);
  });
});

Deno.test("connections past the per-address limit are refused with a reason until one closes", async () => {
  await withRelay({ connectionsPerIp: 3 }, async (at) => {
    const open = [
      await connect(await at("127.0.0.1")),
      await connect(await at("127.0.0.1")),
      await connect(await at("127.0.0.1")),
    ];
    const extra = rawClient(signalAt(await at("127.0.0.1")));
    const closed = await extra.closed;
    assertEquals(closed.code, 1008);
    assert(closed.reason.includes("too many connections from 127.0.0.1"), closed.reason);
    assertEquals(extra.messages.map((m) => m.t), ["error"]);
    // Another address connects; and after one closes, this address may connect again.
    (await connect(await at("127.0.0.2"))).close();
    open[0].close();
    await open[0].closed;
    await new Promise((r) => setTimeout(r, 50));
    const again = await connect(await at("127.0.0.1"));
    again.close();
    open.forEach((c) => c.close());
  });
});

Deno.test("a connection that floods messages is closed with a reason; the others are not", async () => {
  const log: string[] = [];
  await withRelay({ messagesPerSecond: 20, messageBurst: 40 }, async (at) => {
    const h = await host(await at("127.0.0.1"));
    const g = await join(await at("127.0.0.2"), h.name);
    // One message over the burst: closed, and told why.
    const eager = await connect(await at("127.0.0.3"));
    for (let i = 0; i < 41; i++) eager.send({ t: "ping" });
    const closed = await eager.closed;
    assertEquals(closed.code, 1008);
    assert(
      closed.reason.includes("too many messages (at most 20 a second, 40 at once)"),
      closed.reason,
    );
    assertEquals(eager.messages.filter((m) => m.t === "pong").length, 40);
    // A real flood: cut off after the burst. (With unread frames still in flight
    // the kernel may reset the connection, so the flooder may miss the reason.)
    const flooder = await connect(await at("127.0.0.3"));
    for (let i = 0; i < 2000; i++) flooder.send({ t: "ping" });
    await flooder.closed;
    assert(flooder.messages.filter((m) => m.t === "pong").length <= 41);
    assertEquals(log.filter((l) => l.includes("too many messages")).length, 2);
    // A peer at the sustained rate is never cut off, and the pair still talks.
    for (let i = 0; i < 40; i++) {
      h.c.send({ t: "ping" });
      await new Promise((r) => setTimeout(r, 50)); // 20 a second for 2 s
    }
    await stillWorks(h.c, g.c);
    assertEquals(h.c.ws.readyState, WebSocket.OPEN);
    assertEquals(g.c.ws.readyState, WebSocket.OPEN);
  }, { log: (line) => log.push(line) });
});

Deno.test("TURN allocations per peer: a guest gets its quota, a host that quota per guest (486 beyond)", async () => {
  await withRelay({}, async (at, relay) => {
    const h = await host(await at("127.0.0.1"));
    const hostIce = (await h.c.next("hosted")).ice;
    const guests = [
      await join(await at("127.0.0.2"), h.name),
      await join(await at("127.0.0.3"), h.name),
    ];
    const guestIce = (await guests[0].c.next("joined")).ice;
    const creds = (ice: typeof hostIce) => ice.find((s) => s.username)!;
    const allocations = async (ice: typeof hostIce, n: number) => {
      const { username, credential } = creds(ice);
      const out: (number | string)[] = [];
      for (let i = 0; i < n; i++) {
        const client = await TestTurnClient.udp(relay.stunPort);
        const { response } = await client.allocate(
          username!,
          credential!,
          (m) => setAttribute(m, RequestedTransport, TRANSPORT_UDP),
        );
        out.push(errorCodeOf(response) ?? "success");
        if (!errorCodeOf(response)) assert(getAttribute(response, XorRelayedAddress));
        // Leave the allocation in place: closing a UDP client does not free it.
        await client.close();
      }
      return out;
    };
    // Two guests: the host may hold 2 x 2; a guest 2.
    assertEquals(await allocations(hostIce, 5), ["success", "success", "success", "success", 486]);
    assertEquals(await allocations(guestIce, 3), ["success", "success", 486]);
  }, { maxTurnAllocationsPerPeer: 2 });
});
