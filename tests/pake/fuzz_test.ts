/**
 * Seeded fuzzing of everything in lib/pake that reads untrusted input: the
 * peer's PAKE message, the peer's confirmation tag, and SDP text. Each input is
 * checked against an oracle, so "no exception" is not the only thing asserted.
 * Seeds are fixed so a failure reproduces; change them to explore.
 */
import { ristretto255 } from "@noble/curves/ed25519.js";
import { assert, assertEquals } from "../_util/assert.ts";
import { mutate, prng, randomBytes } from "../_util/prng.ts";
import {
  PakeError,
  type PakeSession,
  type PakeStart,
  type PakeTranscript,
  randomSid,
  sdpFingerprint,
  startPake,
  TAG_LENGTH,
} from "../../lib/pake/mod.ts";

type Random = () => number;
const INPUTS = 100_000;
const int = (r: Random, below: number) => Math.floor(r() * below);
const TRANSCRIPT: PakeTranscript = {
  initiatorFingerprint: "SHA-256 " + "11:".repeat(31) + "11",
  responderFingerprint: "SHA-256 " + "22:".repeat(31) + "22",
};

function newRun(): PakeStart {
  return startPake({ role: "initiator", password: "QX9P4RTW", sid: randomSid(), context: "K7M2" });
}

/** Whether the bytes are an element finish must accept: canonical and not the identity. */
function acceptable(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  try {
    return !ristretto255.Point.fromBytes(bytes).is0();
  } catch {
    return false;
  }
}

Deno.test("fuzz: random and mutated peer messages give a session or a PakeError, as decoding says", () => {
  const r = prng(0x9a4e);
  const honest = startPake({ role: "responder", password: "x", sid: randomSid(), context: "" });
  let run = newRun();
  let accepted = 0;
  for (let i = 0; i < INPUTS; i++) {
    const kind = int(r, 4);
    const input = kind === 0
      ? randomBytes(r, 32)
      : kind === 1
      ? randomBytes(r, int(r, 70))
      : mutate(r, kind === 2 ? honest.message : new Uint8Array(32));
    let session: PakeSession | undefined;
    try {
      session = run.finish(input);
    } catch (err) {
      if (!(err instanceof PakeError)) throw new Error(`input ${i}: ${err}`);
    }
    assertEquals(session !== undefined, acceptable(input), `input ${i}`);
    if (session) {
      // A random element is someone who does not know the code: its tag is refused.
      assertEquals(session.verify(randomBytes(r, TAG_LENGTH), TRANSCRIPT), false);
      accepted++;
      run = newRun();
    }
  }
  assert(accepted > 1000, `only ${accepted} inputs were valid elements`);
});

Deno.test("fuzz: random and mutated tags are refused unless they are the genuine tag", () => {
  const r = prng(0x7a6);
  let pair!: { guest: PakeSession; hostTag: Uint8Array };
  let refused = false;
  let accepted = 0;
  for (let i = 0; i < INPUTS; i++) {
    if (i % 1000 === 0) {
      const sid = randomSid();
      const g = startPake({ role: "initiator", password: "QX9P4RTW", sid, context: "K7M2" });
      const h = startPake({ role: "responder", password: "QX9P4RTW", sid, context: "K7M2" });
      const host = h.finish(g.message);
      pair = { guest: g.finish(h.message), hostTag: host.confirm(TRANSCRIPT) };
      refused = false;
    }
    const kind = int(r, 3);
    const tag = i % 1000 === 0 && r() < 0.5
      ? pair.hostTag // the honest peer's tag, first, in about half the sessions
      : kind === 0
      ? randomBytes(r, TAG_LENGTH)
      : kind === 1
      ? randomBytes(r, int(r, 130))
      : r() < 0.01
      ? pair.hostTag
      : mutate(r, pair.hostTag);
    const genuine = tag.length === TAG_LENGTH && tag.every((b, j) => b === pair.hostTag[j]);
    const ok = pair.guest.verify(tag, TRANSCRIPT);
    assertEquals(ok, genuine && !refused, `input ${i}`);
    if (ok) accepted++;
    else refused = true;
  }
  assert(accepted >= 20, `the genuine tag was accepted only ${accepted} times`);
});

Deno.test("fuzz: random and mutated SDP gives a normalised fingerprint or null, never throws", () => {
  const r = prng(0x5d9);
  const fp =
    "B7:1A:FF:37:0F:7C:0C:73:FB:F6:22:44:EF:3C:0A:A7:27:7A:0B:55:C2:1B:4F:BC:C0:1D:21:62:15:64:E9:0A";
  const sdp = new TextEncoder().encode(
    `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP ` +
      `webrtc-datachannel\r\na=fingerprint:sha-256 ${fp}\r\na=setup:actpass\r\n`,
  );
  const decoder = new TextDecoder();
  const shape = /^SHA-(256|384|512) [0-9A-F]{2}(:[0-9A-F]{2})*$/;
  let found = 0;
  for (let i = 0; i < INPUTS; i++) {
    const bytes = r() < 0.2 ? randomBytes(r, int(r, 200)) : mutate(r, sdp);
    const result = sdpFingerprint(decoder.decode(bytes));
    assert(result === null || shape.test(result), `input ${i}: ${result}`);
    if (result !== null) found++;
  }
  assert(found > 1000, `only ${found} inputs kept a fingerprint`);
});
