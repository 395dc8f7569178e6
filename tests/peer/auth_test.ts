/**
 * PeerAuth's verdicts are known in the task that checks the tag: the host
 * counts a tampered attempt even when the relay's "guest left" is dispatched
 * right behind the guest's confirmation (Deno runs the next WebSocket message
 * from a microtask, ahead of a multi-hop promise chain).
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { AuthError, PeerAuth } from "../../lib/peer/auth.ts";
import type { SignalData } from "../../lib/signal/mod.ts";

const HOST_FP = "SHA-256 " + Array(32).fill("AB").join(":");
const GUEST_FP = "SHA-256 " + Array(32).fill("CD").join(":");
const RELAY_FP = "SHA-256 " + Array(32).fill("EF").join(":");

/** Two ends of one session; messages are handed over synchronously, in order. */
function pair(guestSecret: string) {
  const failures: { side: string; epoch: number; error: AuthError }[] = [];
  const queue: { to: () => PeerAuth; epoch: number; data: SignalData }[] = [];
  const host: PeerAuth = new PeerAuth({
    role: "responder",
    password: "QX9P4RTW",
    sessionName: "ABCD",
    send: (epoch, data) => queue.push({ to: () => guest, epoch, data }),
    onfail: (epoch, error) => failures.push({ side: "host", epoch, error }),
  });
  const guest: PeerAuth = new PeerAuth({
    role: "initiator",
    password: guestSecret,
    sessionName: "ABCD",
    send: (epoch, data) => queue.push({ to: () => host, epoch, data }),
  });
  /** Deliver every queued message, as a signalling socket would, one by one. */
  const flush = () => {
    for (let m = queue.shift(); m; m = queue.shift()) m.to().handle(m.epoch, m.data);
  };
  return { host, guest, failures, flush };
}

Deno.test("a confirmation that does not verify is reported in the same task it arrives", () => {
  const { host, guest, failures, flush } = pair("QX9P4RTW");
  guest.start();
  flush();
  // A relay swapped each side's view of the other's fingerprint.
  host.bindFingerprints(0, { local: HOST_FP, remote: RELAY_FP });
  guest.bindFingerprints(0, { local: GUEST_FP, remote: RELAY_FP });
  flush(); // no await: the verdict must not wait for promise callbacks
  assertEquals(failures.length, 1);
  assertEquals(failures[0].side, "host");
  assertEquals(failures[0].epoch, 0);
  assert(failures[0].error instanceof AuthError);
  assert(!host.proven);
});

Deno.test("a confirmation that verifies marks the peer proven in the same task", async () => {
  const { host, guest, failures, flush } = pair("QX9P4RTW");
  guest.start();
  flush();
  const bound = host.bindFingerprints(0, { local: HOST_FP, remote: GUEST_FP });
  guest.bindFingerprints(0, { local: GUEST_FP, remote: HOST_FP });
  assert(!host.proven);
  flush();
  assert(host.proven);
  assertEquals(failures.length, 0);
  await bound;
});

Deno.test("a wrong code fails the host's check at once, in whichever order the two arrive", () => {
  for (const guestFirst of [true, false]) {
    const { host, guest, failures, flush } = pair("QX9P4RTX");
    guest.start();
    flush();
    if (guestFirst) {
      guest.bindFingerprints(0, { local: GUEST_FP, remote: HOST_FP });
      flush();
      assertEquals(failures.length, 0); // the host has not bound its attempt yet
      host.bindFingerprints(0, { local: HOST_FP, remote: GUEST_FP });
    } else {
      host.bindFingerprints(0, { local: HOST_FP, remote: GUEST_FP });
      guest.bindFingerprints(0, { local: GUEST_FP, remote: HOST_FP });
    }
    flush();
    assertEquals(failures.map((f) => f.side), ["host"], `guest first: ${guestFirst}`);
    assert(!host.proven);
  }
});

Deno.test("an SDP without a fingerprint fails the attempt through the same report", async () => {
  const { host, failures } = pair("QX9P4RTW");
  const bound = host.bind(0, { local: "v=0\r\n", remote: "v=0\r\n" });
  assertEquals(failures.length, 1);
  assert(/no DTLS fingerprint/.test(failures[0].error.message));
  let rejected = false;
  await bound.catch(() => rejected = true);
  assert(rejected);
});
