/** One allocation's timers and tables (lib/turn/allocation.ts), on a hand-moved clock. */
import assert from "node:assert/strict";
import { Allocation, grantedLifetime } from "../../lib/turn/allocation.ts";
import { FakeRelay, peer } from "./_fake.ts";

const T0 = 1_000_000;
const s = (seconds: number) => T0 + seconds * 1000;

function allocation(lifetime = 600, maxPermissions = 8) {
  return new Allocation({
    username: "u",
    relay: new FakeRelay(50_000),
    family: "IPv4",
    lifetime,
    now: T0,
    maxPermissions,
  });
}

Deno.test("lifetimes: absent means 600 s, 0 means delete, others are clamped to 600..3600", () => {
  const cases: [number | undefined, number][] = [
    [undefined, 600],
    [0, 0],
    [1, 600],
    [600, 600],
    [601, 601],
    [3600, 3600],
    [0xffffffff, 3600],
  ];
  for (const [asked, granted] of cases) assert.equal(grantedLifetime(asked), granted, `${asked}`);
});

Deno.test("an allocation expires exactly at its lifetime and a refresh restarts the timer", () => {
  const a = allocation(600);
  assert.equal(a.remaining(s(0)), 600);
  assert.equal(a.expired(s(599.999)), false);
  assert.equal(a.expired(s(600)), true);
  a.refresh(60, s(590));
  assert.equal(a.expired(s(649)), false);
  assert.equal(a.expired(s(650)), true);
  assert.equal(a.remaining(s(700)), 0);
});

Deno.test("a permission covers every port of one IP for 300 s and is refreshed by re-permitting", () => {
  const a = allocation();
  assert.equal(a.permits("198.51.100.7", s(0)), false);
  assert.ok(a.permit(["198.51.100.7"], s(0)));
  assert.equal(a.permits("198.51.100.7", s(299)), true);
  assert.equal(a.permits("198.51.100.8", s(1)), false);
  assert.ok(a.permit(["198.51.100.7"], s(200)));
  assert.equal(a.permits("198.51.100.7", s(499)), true);
  assert.equal(a.permits("198.51.100.7", s(500)), false);
  a.sweep(s(500));
  assert.equal(a.permissionCount(s(500)), 0);
});

Deno.test("permissions are all-or-nothing against the limit, and expired ones free room", () => {
  const a = allocation(600, 2);
  assert.ok(a.permit(["10.0.0.1", "10.0.0.2"], s(0)));
  assert.equal(a.permit(["10.0.0.3"], s(1)), false);
  assert.equal(a.permit(["10.0.0.1", "10.0.0.3"], s(1)), false);
  assert.equal(a.permits("10.0.0.3", s(1)), false, "nothing of a refused request installed");
  assert.ok(a.permit(["10.0.0.1", "10.0.0.2"], s(2)), "refreshing costs nothing");
  assert.ok(a.permit(["10.0.0.3"], s(302)), "the old ones expired");
});

Deno.test("a channel lives 600 s, then blocks its number and peer for 300 s more", () => {
  const a = allocation(3600);
  const p = peer(1), q = peer(2);
  assert.equal(a.bindChannel(0x4000, p, s(0)), undefined);
  assert.equal(a.peerOfChannel(0x4000, s(599)), p);
  assert.equal(a.channelOfPeer(p, s(599)), 0x4000);
  assert.equal(a.peerOfChannel(0x4000, s(600)), undefined, "expired: no data flows");
  assert.equal(a.channelOfPeer(p, s(600)), undefined);
  assert.equal(a.bindChannel(0x4000, q, s(899)), "channel-in-use");
  assert.equal(a.bindChannel(0x4001, p, s(899)), "peer-in-use");
  a.sweep(s(899));
  assert.equal(
    a.bindChannel(0x4000, q, s(899)),
    "channel-in-use",
    "sweeping early changes nothing",
  );
  a.sweep(s(900));
  assert.equal(a.bindChannel(0x4000, q, s(900)), undefined);
  assert.equal(a.bindChannel(0x4001, p, s(900)), undefined);
  assert.equal(a.peerOfChannel(0x4000, s(901)), q);
  assert.equal(a.peerOfChannel(0x4001, s(901)), p);
});

Deno.test("rebinding the same channel to the same peer refreshes it", () => {
  const a = allocation(3600);
  const p = peer(1);
  a.bindChannel(0x4000, p, s(0));
  assert.equal(a.bindChannel(0x4000, p, s(500)), undefined);
  assert.equal(a.peerOfChannel(0x4000, s(1099)), p);
  assert.equal(a.peerOfChannel(0x4000, s(1100)), undefined);
});

Deno.test("a cooled-down channel's number and peer can each be taken by a new pair without crosstalk", () => {
  const a = allocation(3600);
  const p = peer(1), q = peer(2);
  a.bindChannel(0x4000, p, s(0));
  a.bindChannel(0x4001, q, s(0));
  // Both expire at 600 and cool down at 900. Then p takes 0x4001 (q's old number).
  assert.equal(a.bindChannel(0x4001, p, s(900)), undefined);
  assert.equal(a.channelOfPeer(p, s(901)), 0x4001);
  assert.equal(a.channelOfPeer(q, s(901)), undefined, "q lost its old channel");
  assert.equal(a.peerOfChannel(0x4000, s(901)), undefined, "p's old channel is gone");
  assert.equal(a.bindChannel(0x4000, q, s(901)), undefined);
  assert.equal(a.peerOfChannel(0x4000, s(902)), q);
});
