import { ristretto255 } from "@noble/curves/ed25519.js";
import { numberToBytesLE } from "@noble/curves/utils.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { assert, assertEquals, assertThrows } from "../_util/assert.ts";
import { prng, randomBytes } from "../_util/prng.ts";
import {
  MESSAGE_LENGTH,
  PakeError,
  type PakeSession,
  type PakeTranscript,
  randomSid,
  startPake,
  TAG_LENGTH,
} from "../../lib/pake/mod.ts";

const CODE = { name: "K7M2", secret: "QX9P4RTW" };
const FP_GUEST = "SHA-256 " + "11:".repeat(31) + "11";
const FP_HOST = "SHA-256 " + "22:".repeat(31) + "22";
const FP_RELAY = "SHA-256 " + "EE:".repeat(31) + "EE";
const HONEST: PakeTranscript = { initiatorFingerprint: FP_GUEST, responderFingerprint: FP_HOST };

interface Side {
  password?: string;
  sid?: Uint8Array;
  context?: string;
}

/** One honest exchange of messages; each side may be given different inputs. */
function exchange(guest: Side = {}, host: Side = {}): { guest: PakeSession; host: PakeSession } {
  const sid = randomSid();
  const g = startPake({
    role: "initiator",
    password: guest.password ?? CODE.secret,
    sid: guest.sid ?? sid,
    context: guest.context ?? CODE.name,
  });
  const h = startPake({
    role: "responder",
    password: host.password ?? CODE.secret,
    sid: host.sid ?? sid,
    context: host.context ?? CODE.name,
  });
  assertEquals(g.message.length, MESSAGE_LENGTH);
  assertEquals(h.message.length, MESSAGE_LENGTH);
  return { guest: g.finish(h.message), host: h.finish(g.message) };
}

/** Both confirm over their own view; returns whether each accepted the other. */
function confirmBoth(
  s: { guest: PakeSession; host: PakeSession },
  guestView: PakeTranscript = HONEST,
  hostView: PakeTranscript = HONEST,
): { guestAccepts: boolean; hostAccepts: boolean } {
  const guestTag = s.guest.confirm(guestView);
  const hostTag = s.host.confirm(hostView);
  assertEquals(guestTag.length, TAG_LENGTH);
  return {
    guestAccepts: s.guest.verify(hostTag, guestView),
    hostAccepts: s.host.verify(guestTag, hostView),
  };
}

Deno.test("the same code gives both sides the same keys, and each accepts the other's tag", () => {
  const s = exchange();
  assertEquals(confirmBoth(s), { guestAccepts: true, hostAccepts: true });
  const key = s.guest.deriveKey("inner", 32);
  assertEquals(key, s.host.deriveKey("inner", 32));
  assert(s.guest.deriveKey("other", 32).some((b, i) => b !== key[i]), "labels separate keys");
  // A second run with the same code gets fresh keys.
  const t = exchange();
  confirmBoth(t);
  assert(t.guest.deriveKey("inner", 32).some((b, i) => b !== key[i]), "runs separate keys");
});

Deno.test("a message and tag reflected back to their sender are refused", () => {
  const s = exchange();
  assertEquals(s.guest.verify(s.guest.confirm(HONEST), HONEST), false);
  assertEquals(s.host.verify(s.host.confirm(HONEST), HONEST), false);
  // A relay that echoes each side's own message, then its own tag: Ya = Yb, so
  // only the role labels (ADa, ADb) keep the two tags apart.
  for (const role of ["initiator", "responder"] as const) {
    const run = startPake({ role, password: CODE.secret, sid: randomSid(), context: CODE.name });
    const echoed = run.finish(run.message);
    assertEquals(echoed.verify(echoed.confirm(HONEST), HONEST), false, role);
  }
});

Deno.test("a wrong code makes both sides refuse the other's tag", () => {
  for (const wrong of ["QX9P4RTX", "0X9P4RTW", "qx9p4rtw", "QX9P4RT", "00000000"]) {
    const s = exchange({ password: wrong });
    assertEquals(confirmBoth(s), { guestAccepts: false, hostAccepts: false }, wrong);
    assertThrows(() => s.guest.deriveKey("inner", 32), PakeError);
    assertThrows(() => s.host.deriveKey("inner", 32), PakeError);
  }
});

Deno.test("a different session name or sid on one side makes both sides refuse", () => {
  const cases: [string, Side][] = [
    ["context", { context: "K7M3" }],
    ["sid", { sid: new Uint8Array(16) }],
  ];
  for (const [name, guest] of cases) {
    assertEquals(confirmBoth(exchange(guest)), { guestAccepts: false, hostAccepts: false }, name);
  }
});

Deno.test("a relay that swaps a fingerprint in the SDP is detected by both peers", () => {
  const cases: [string, PakeTranscript, PakeTranscript][] = [
    // [case, what the guest binds, what the host binds]
    ["host's SDP swapped on its way to the guest", {
      initiatorFingerprint: FP_GUEST,
      responderFingerprint: FP_RELAY,
    }, HONEST],
    ["guest's SDP swapped on its way to the host", HONEST, {
      initiatorFingerprint: FP_RELAY,
      responderFingerprint: FP_HOST,
    }],
    ["both SDPs swapped", { initiatorFingerprint: FP_GUEST, responderFingerprint: FP_RELAY }, {
      initiatorFingerprint: FP_RELAY,
      responderFingerprint: FP_HOST,
    }],
    ["the two fingerprints exchanged", HONEST, {
      initiatorFingerprint: FP_HOST,
      responderFingerprint: FP_GUEST,
    }],
  ];
  for (const [name, guestView, hostView] of cases) {
    const s = exchange();
    assertEquals(
      confirmBoth(s, guestView, hostView),
      { guestAccepts: false, hostAccepts: false },
      name,
    );
  }
});

Deno.test("the same fingerprint in another case binds the same", () => {
  const s = exchange();
  const lower = {
    initiatorFingerprint: FP_GUEST.toLowerCase(),
    responderFingerprint: FP_HOST.toLowerCase(),
  };
  assertEquals(confirmBoth(s, lower, HONEST), { guestAccepts: true, hostAccepts: true });
});

/**
 * A test double of a relay that runs its own PAKE with each peer, using one
 * guessed code both ways, and puts its own certificate in both SDPs.
 */
function relayAttempt(guess: string) {
  const sid = randomSid();
  const context = CODE.name;
  const guest = startPake({ role: "initiator", password: CODE.secret, sid, context });
  const host = startPake({ role: "responder", password: CODE.secret, sid, context });
  const toGuest = startPake({ role: "responder", password: guess, sid, context });
  const toHost = startPake({ role: "initiator", password: guess, sid, context });
  const guestSession = guest.finish(toGuest.message);
  const hostSession = host.finish(toHost.message);
  const relayWithGuest = toGuest.finish(guest.message);
  const relayWithHost = toHost.finish(host.message);
  const guestView = { initiatorFingerprint: FP_GUEST, responderFingerprint: FP_RELAY };
  const hostView = { initiatorFingerprint: FP_RELAY, responderFingerprint: FP_HOST };
  const guestTag = guestSession.confirm(guestView);
  const hostTag = hostSession.confirm(hostView);
  return {
    guestAccepts: guestSession.verify(relayWithGuest.confirm(guestView), guestView),
    hostAccepts: hostSession.verify(relayWithHost.confirm(hostView), hostView),
    relayConfirmsGuess: relayWithGuest.verify(guestTag, guestView) &&
      relayWithHost.verify(hostTag, hostView),
  };
}

Deno.test("a relay running its own PAKE with each peer is refused unless it guesses the code", () => {
  const rand = prng(5);
  for (let attempt = 0; attempt < 20; attempt++) {
    let guess = "";
    for (let i = 0; i < 8; i++) guess += "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(rand() * 32) | 0];
    if (guess === CODE.secret) continue;
    assertEquals(
      relayAttempt(guess),
      { guestAccepts: false, hostAccepts: false, relayConfirmsGuess: false },
      guess,
    );
  }
  // The one guess per attempt: a right guess succeeds, which is why the host
  // retires a code after a few failed attempts.
  assertEquals(relayAttempt(CODE.secret), {
    guestAccepts: true,
    hostAccepts: true,
    relayConfirmsGuess: true,
  });
});

Deno.test("a failed attempt's transcript does not let the relay test other codes offline", () => {
  const sid = randomSid();
  const context = CODE.name;
  const view = { initiatorFingerprint: FP_GUEST, responderFingerprint: FP_RELAY };
  const guest = startPake({ role: "initiator", password: CODE.secret, sid, context });
  const relay = startPake({ role: "responder", password: "00000000", sid, context });
  const recordedTag = guest.finish(relay.message).confirm(view);
  // Replaying the guest's message into new runs, even with the right code, cannot
  // reproduce the tag: it is bound to the element the relay committed to.
  for (const candidate of ["00000000", "11111111", CODE.secret]) {
    const replay = startPake({ role: "responder", password: candidate, sid, context });
    assertEquals(replay.finish(guest.message).verify(recordedTag, view), false, candidate);
  }
});

Deno.test("one run accepts one peer element: a second finish throws", () => {
  const sid = randomSid();
  const g = startPake({ role: "initiator", password: CODE.secret, sid, context: CODE.name });
  const h1 = startPake({ role: "responder", password: "00000000", sid, context: CODE.name });
  const h2 = startPake({ role: "responder", password: CODE.secret, sid, context: CODE.name });
  g.finish(h1.message);
  const err = assertThrows(() => g.finish(h2.message), PakeError);
  assertEquals(err.message, "finish was already called for this PAKE run");
});

const P = 2n ** 255n - 19n;
/** Y_i1 from the draft's "Invalid inputs for scalar_mult_vfy" (ristretto255). */
const Y_I1 = hexToBytes("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c");
/** Encodings ristretto255 decoding must refuse (RFC 9496 §4.3.1), or the identity. */
function invalidElements(): [string, unknown][] {
  const valid = startPake({
    role: "responder",
    password: "x",
    sid: randomSid(),
    context: "",
  }).message;
  const highBit = valid.slice();
  highBit[31] |= 0x80;
  const cases: [string, unknown][] = [
    ["all zeros (the identity)", new Uint8Array(32)],
    ["the draft's Y_i1", Y_I1],
    ["s = p (non-canonical)", numberToBytesLE(P, 32)],
    ["s = p + 1 (non-canonical)", numberToBytesLE(P + 1n, 32)],
    ["s = 2^255 - 2 (non-canonical)", numberToBytesLE(2n ** 255n - 2n, 32)],
    ["all 0xff", new Uint8Array(32).fill(0xff)],
    ["a valid element with bit 255 set", highBit],
    ["s = 1 (odd, so negative)", numberToBytesLE(1n, 32)],
    ["empty", new Uint8Array(0)],
    ["31 bytes", valid.subarray(0, 31)],
    ["33 bytes", Uint8Array.from([...valid, 0])],
    ["64 bytes", new Uint8Array(64)],
    ["not bytes", Array.from(valid)],
    ["a string", "hello"],
    ["undefined", undefined],
  ];
  // Seeded random 32-byte strings that are not canonical encodings.
  const rand = prng(1);
  while (cases.length < 45) {
    const bytes = randomBytes(rand, 32);
    try {
      ristretto255.Point.fromBytes(bytes);
    } catch {
      cases.push([`random ${cases.length}`, bytes]);
    }
  }
  return cases;
}

Deno.test("invalid peer elements are refused with PakeError, and the run stays usable", () => {
  const sid = randomSid();
  const g = startPake({ role: "initiator", password: CODE.secret, sid, context: CODE.name });
  for (const [name, bytes] of invalidElements()) {
    const err = assertThrows(() => g.finish(bytes as Uint8Array), PakeError);
    assert(!err.message.includes("\n"), name);
  }
  // Nothing secret was used by a refusal, so the honest answer still completes the run.
  const h = startPake({ role: "responder", password: CODE.secret, sid, context: CODE.name });
  const s = { guest: g.finish(h.message), host: h.finish(g.message) };
  assertEquals(confirmBoth(s), { guestAccepts: true, hostAccepts: true });
});

Deno.test("the draft's invalid inputs Y_i1 and G.I are refused by both roles", () => {
  for (const role of ["initiator", "responder"] as const) {
    const run = startPake({ role, password: CODE.secret, sid: randomSid(), context: "" });
    assertThrows(() => run.finish(Y_I1), PakeError);
    assertThrows(() => run.finish(new Uint8Array(32)), PakeError);
  }
});

Deno.test("options are checked before use, each with a one-line reason", () => {
  const ok = { role: "initiator", password: CODE.secret, sid: randomSid(), context: CODE.name };
  const cases: [string, Record<string, unknown>][] = [
    ["role", { role: "host" }],
    ["empty password", { password: "" }],
    ["long password", { password: "x".repeat(257) }],
    ["password not a string", { password: 12345678 }],
    ["short sid", { sid: new Uint8Array(15) }],
    ["long sid", { sid: new Uint8Array(65) }],
    ["sid not bytes", { sid: "0123456789abcdef" }],
    ["long context", { context: "é".repeat(128) }],
    ["context not a string", { context: null }],
  ];
  for (const [name, change] of cases) {
    const err = assertThrows(
      () => startPake({ ...ok, ...change } as unknown as Parameters<typeof startPake>[0]),
      PakeError,
    );
    assert(!err.message.includes("\n"), name);
  }
  assertThrows(() => startPake(undefined as unknown as Parameters<typeof startPake>[0]), PakeError);
  // The bounds themselves are accepted.
  startPake({ ...ok, role: "responder", password: "x".repeat(256), sid: new Uint8Array(64) });
  startPake({ ...ok, role: "initiator", sid: new Uint8Array(16), context: "" });
});

Deno.test("tags of the wrong length, mutated tags and malformed transcripts are refused", () => {
  const s = exchange();
  const tag = s.host.confirm(HONEST);
  for (const bad of [tag.subarray(0, 32), Uint8Array.from([...tag, 0]), new Uint8Array(0)]) {
    assertEquals(exchange().guest.verify(bad, HONEST), false);
  }
  const flipped = tag.slice();
  flipped[17] ^= 1;
  assertEquals(s.guest.verify(flipped, HONEST), false);
  // After one refusal the session stays refused, even for the right tag.
  assertEquals(s.guest.verify(tag, HONEST), false);
  assertThrows(() => s.guest.deriveKey("inner", 32), PakeError);
  for (const fp of ["", "SHA-256 11", "sha-1 " + "11:".repeat(19) + "11", "not a fingerprint"]) {
    assertThrows(
      () => s.host.confirm({ initiatorFingerprint: fp, responderFingerprint: FP_HOST }),
      PakeError,
    );
    assertThrows(
      () => s.host.verify(tag, { initiatorFingerprint: FP_GUEST, responderFingerprint: fp }),
      PakeError,
    );
  }
});

Deno.test("deriveKey gives keys only after a verified tag, within HKDF's limits", () => {
  const s = exchange();
  assertThrows(() => s.guest.deriveKey("inner", 32), PakeError);
  confirmBoth(s);
  assertEquals(s.guest.deriveKey("inner", 1).length, 1);
  assertEquals(s.guest.deriveKey("inner", 255 * 64).length, 255 * 64);
  for (const [label, length] of [["inner", 0], ["inner", 255 * 64 + 1], ["inner", 1.5], ["", 32]]) {
    assertThrows(() => s.guest.deriveKey(label as string, length as number), PakeError);
  }
  // A shorter key is a prefix of a longer one under the same label (HKDF), not another key.
  assertEquals(s.guest.deriveKey("inner", 16), s.host.deriveKey("inner", 32).subarray(0, 16));
});
