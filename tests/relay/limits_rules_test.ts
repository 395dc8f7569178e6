/** relay/limits.ts on a hand-moved clock: the rates, counts and keys themselves. */
import { assert, assertEquals, assertThrows } from "../_util/assert.ts";
import { clientKey, RelayLimits, TokenBucket } from "../../relay/limits.ts";

Deno.test("a token bucket allows its burst, then one per refill interval", () => {
  const b = new TokenBucket(3, 1 / 1000, 0); // 3 at once, 1 a second
  assertEquals([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
  assertEquals(b.waitMs(0), 1000);
  assertEquals(b.take(999), false);
  assertEquals(b.take(1000), true);
  assert(!b.full(1000));
  assert(b.full(10_000), "refills to capacity, no further");
  assertEquals([b.take(10_000), b.take(10_000), b.take(10_000), b.take(10_000)], [
    true,
    true,
    true,
    false,
  ]);
  // A clock that steps back does not mint tokens.
  assertEquals(b.take(5_000), false);
});

Deno.test("join attempts per address refill at the per-minute rate and name the wait", () => {
  let now = 0;
  const limits = new RelayLimits({ joinsPerIpPerMinute: 2, now: () => now });
  assert(limits.joinFrom("192.0.2.1").ok);
  assert(limits.joinFrom("192.0.2.1").ok);
  const refused = limits.joinFrom("192.0.2.1");
  assert(!refused.ok && refused.reason.includes("try again in 30 s"), JSON.stringify(refused));
  assert(limits.joinFrom("192.0.2.2").ok, "another address has its own bucket");
  now = 30_000;
  assert(limits.joinFrom("192.0.2.1").ok);
  assert(!limits.joinFrom("192.0.2.1").ok);
});

Deno.test("join attempts per code are forgotten with the session", () => {
  const limits = new RelayLimits({ joinsPerCodePerMinute: 1, now: () => 0 });
  assert(limits.joinCode("K7M2").ok);
  assert(!limits.joinCode("K7M2").ok);
  assert(limits.joinCode("QX9P").ok);
  limits.forgetCode("K7M2");
  assert(limits.joinCode("K7M2").ok, "a new session under the same name starts afresh");
});

Deno.test("sessions and connections per address are held and released", () => {
  const limits = new RelayLimits({ sessionsPerIp: 2, connectionsPerIp: 1 });
  assert(limits.holdSession("192.0.2.1").ok);
  assert(limits.holdSession("192.0.2.1").ok);
  assert(!limits.holdSession("192.0.2.1").ok);
  limits.releaseSession("192.0.2.1");
  assert(limits.holdSession("192.0.2.1").ok);
  assert(limits.holdConnection("192.0.2.1").ok);
  const refused = limits.holdConnection("192.0.2.1");
  assert(!refused.ok && refused.reason.includes("at most 1 at once"));
  limits.releaseConnection("192.0.2.1");
  limits.releaseConnection("192.0.2.1"); // one release too many is harmless
  assert(limits.holdConnection("192.0.2.1").ok);
  assert(!limits.holdConnection("192.0.2.1").ok, "and does not leave room for two");
});

Deno.test("IPv6 clients are counted per /64, IPv4 clients per address", () => {
  assertEquals(clientKey("2001:db8:1:2:aaaa::1"), clientKey("2001:db8:1:2:bbbb::2"));
  assert(clientKey("2001:db8:1:2::1") !== clientKey("2001:db8:1:3::1"));
  assertEquals(clientKey("2001:DB8:1:2::1"), clientKey("2001:db8:1:2:0::9"));
  assert(clientKey("192.0.2.1") !== clientKey("192.0.2.2"));
  const limits = new RelayLimits({ connectionsPerIp: 1 });
  assert(limits.holdConnection("2001:db8:1:2::1").ok);
  assert(!limits.holdConnection("2001:db8:1:2::ffff").ok, "same /64, same client");
});

Deno.test("a connection's message meter allows the burst, then the sustained rate", () => {
  let now = 0;
  const limits = new RelayLimits({ messagesPerSecond: 10, messageBurst: 5, now: () => now });
  const meter = limits.messageMeter();
  const burst = Array.from({ length: 6 }, () => meter.take());
  assertEquals(burst, [true, true, true, true, true, false]);
  now = 100;
  assert(meter.take());
  assert(!meter.take());
  assert(limits.messageMeter().take(), "each connection has its own meter");
});

Deno.test("limits that are not positive integers are refused at construction", () => {
  for (
    const bad of [
      { joinsPerIpPerMinute: 0 },
      { joinsPerCodePerMinute: -1 },
      { sessionsPerIp: 1.5 },
      { connectionsPerIp: NaN },
      { messagesPerSecond: 0 },
      { messageBurst: Infinity },
    ]
  ) {
    assertThrows(() => new RelayLimits(bad), RangeError);
  }
});

Deno.test("the defaults are the documented ones", () => {
  const d = new RelayLimits();
  assertEquals(
    [
      d.joinsPerIpPerMinute,
      d.joinsPerCodePerMinute,
      d.sessionsPerIp,
      d.connectionsPerIp,
      d.messagesPerSecond,
      d.messageBurst,
    ],
    [20, 30, 16, 64, 50, 200],
  );
});
