/**
 * One PAKE run between the guest (initiator) and the host (responder), with key
 * confirmation that also binds both DTLS certificate fingerprints, so a relay
 * that swaps SDP is caught by both peers before any tunnelled byte flows.
 *
 * Wire (through the relay; all of it may be seen, none of it reveals the code):
 *     host  -> guest   sid                 16 bytes, random per session (SID_LENGTH)
 *     guest -> host    Ya                  32 bytes (MESSAGE_LENGTH)
 *     host  -> guest   Yb                  32 bytes
 *     both             confirmation tag    64 bytes (TAG_LENGTH), HMAC-SHA512
 *
 * CPace inputs (draft-irtf-cfrg-cpace-21 "CPace inputs"):
 *     PRS = UTF-8 of the password (the join code's secret part)
 *     CI  = lv_cat("tun/pake/v1", context)        context: the session name
 *     sid = the per-session random sid
 *     ADa = "initiator", ADb = "responder"        fixed by role, so never sent
 */
import { equalBytes } from "@noble/curves/utils.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { concatBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import {
  calculateGenerator,
  deriveIsk,
  ELEMENT_LENGTH,
  lvCat,
  sampleScalar,
  scalarMult,
  sharedSecret,
  transcriptIr,
} from "./cpace.ts";
import { PakeError } from "./error.ts";
import { parseFingerprint } from "./fingerprint.ts";

/** The guest speaks first (initiator); the host answers (responder). */
export type PakeRole = "initiator" | "responder";

/** Bytes in each side's PAKE message (an encoded ristretto255 element). */
export const MESSAGE_LENGTH = ELEMENT_LENGTH;
/** Bytes in a confirmation tag (HMAC-SHA512, untruncated). */
export const TAG_LENGTH = 64;
/** Bytes of sid that randomSid makes; 128 bits makes a repeat negligible. */
export const SID_LENGTH = 16;
/** Accepted sid lengths: at least 128 bits of uniqueness, at most a short field. */
export const SID_MIN = 16;
export const SID_MAX = 64;
/** Limits on the UTF-8 lengths of password, context and deriveKey labels. */
export const PASSWORD_MAX = 256;
export const CONTEXT_MAX = 255;
export const LABEL_MAX = 255;
/** HKDF-SHA512 can expand to at most 255 hash lengths (RFC 5869 §2.3). */
export const DERIVE_MAX = 255 * 64;

const VERSION = utf8ToBytes("tun/pake/v1");
const AD: Readonly<Record<PakeRole, Uint8Array>> = {
  initiator: utf8ToBytes("initiator"),
  responder: utf8ToBytes("responder"),
};

export interface PakeOptions {
  /** "initiator" for the guest, "responder" for the host. */
  role: PakeRole;
  /** The shared low-entropy secret: the join code's secret part, canonical form. 1..256 UTF-8 bytes. */
  password: string;
  /** Per-session random identifier both sides know (the host sends it in the clear). 16..64 bytes. */
  sid: Uint8Array;
  /** Names the channel, e.g. the session name; both sides must pass the same. 0..255 UTF-8 bytes. */
  context: string;
}

/** What each side binds into its confirmation tag, as each side sees it. */
export interface PakeTranscript {
  /** The guest's DTLS fingerprint ("SHA-256 AB:CD:..."; sdpFingerprint's output or any case). */
  initiatorFingerprint: string;
  /** The host's DTLS fingerprint. */
  responderFingerprint: string;
}

export interface PakeStart {
  /** Our message (Ya or Yb) to send to the peer: MESSAGE_LENGTH bytes. */
  readonly message: Uint8Array;
  /**
   * Untrusted bytes enter here. Consume the peer's message. Throws PakeError if
   * it is not a valid non-identity element; nothing secret was used then, so
   * the caller just aborts. Once it has accepted an element, further calls
   * throw: one run is one password guess, never two.
   */
  finish(peerMessage: Uint8Array): PakeSession;
}

export interface PakeSession {
  readonly role: PakeRole;
  /** Our confirmation tag over the transcript as we see it: TAG_LENGTH bytes. */
  confirm(transcript: PakeTranscript): Uint8Array;
  /**
   * Untrusted bytes enter here. Whether the peer's tag matches our view of the
   * transcript (constant-time compare). False on any mismatch, including a
   * wrong length; after one false every later call is false too.
   */
  verify(peerTag: Uint8Array, transcript: PakeTranscript): boolean;
  /**
   * A key for a further layer: HKDF-SHA512(ISK, salt = sid, info = lv_cat(
   * "tun/pake/v1/key", label)). Only after verify has returned true and never
   * false, so no key leaves a run whose peer did not prove the password.
   */
  deriveKey(label: string, length: number): Uint8Array;
}

/** A fresh random sid for the host to send to the guest. */
export function randomSid(): Uint8Array {
  return randomBytes(SID_LENGTH);
}

function utf8Field(value: unknown, field: string, min: number, max: number): Uint8Array {
  if (typeof value !== "string") throw new PakeError(`${field} must be a string`);
  const bytes = utf8ToBytes(value);
  if (bytes.length < min || bytes.length > max) {
    throw new PakeError(`${field} is ${bytes.length} bytes, expected ${min}..${max}`);
  }
  return bytes;
}

/** Start one run: validates every option, then computes our message. */
export function startPake(options: PakeOptions): PakeStart {
  const { role, password, sid, context } = options ?? {};
  if (role !== "initiator" && role !== "responder") {
    throw new PakeError(`role must be "initiator" or "responder", got ${String(role)}`);
  }
  const prs = utf8Field(password, "password", 1, PASSWORD_MAX);
  if (!(sid instanceof Uint8Array)) throw new PakeError("sid must be a Uint8Array");
  if (sid.length < SID_MIN || sid.length > SID_MAX) {
    throw new PakeError(`sid is ${sid.length} bytes, expected ${SID_MIN}..${SID_MAX}`);
  }
  const ci = lvCat(VERSION, utf8Field(context, "context", 0, CONTEXT_MAX));
  const ownSid = Uint8Array.from(sid);

  const y = sampleScalar();
  const message = scalarMult(y, calculateGenerator(prs, ci, ownSid));
  let used = false;
  return {
    message: message.slice(),
    finish(peerMessage: Uint8Array): PakeSession {
      if (used) throw new PakeError("finish was already called for this PAKE run");
      const k = sharedSecret(y, peerMessage);
      used = true;
      const peer = Uint8Array.from(peerMessage);
      const [ya, yb] = role === "initiator" ? [message, peer] : [peer, message];
      const isk = deriveIsk(ownSid, k, transcriptIr(ya, AD.initiator, yb, AD.responder));
      return new Session(role, ownSid, isk, ya, yb);
    },
  };
}

function fingerprintField(transcript: PakeTranscript, field: keyof PakeTranscript): Uint8Array {
  const fp = parseFingerprint(transcript?.[field]);
  if (fp === null) throw new PakeError(`transcript ${field} is not a certificate fingerprint`);
  return utf8ToBytes(fp);
}

class Session implements PakeSession {
  readonly role: PakeRole;
  readonly #sid: Uint8Array;
  readonly #isk: Uint8Array;
  readonly #macKey: Uint8Array;
  readonly #messages: Record<PakeRole, Uint8Array>;
  #verified: boolean | undefined;

  constructor(role: PakeRole, sid: Uint8Array, isk: Uint8Array, ya: Uint8Array, yb: Uint8Array) {
    this.role = role;
    this.#sid = sid;
    this.#isk = isk;
    // "Key confirmation": mac_key = H.hash("CPaceMac" || sid || ISK).
    this.#macKey = sha512(concatBytes(utf8ToBytes("CPaceMac"), sid, isk));
    this.#messages = { initiator: ya, responder: yb };
  }

  /**
   * The draft's tag, MAC(mac_key, lv_cat(Y, AD)) over the tagging side's own
   * message, followed by the fingerprints. Both Ya and Yb are bound through
   * ISK (transcript_ir) and so through mac_key; AD makes the two tags differ.
   */
  #tag(of: PakeRole, transcript: PakeTranscript): Uint8Array {
    const fingerprints = lvCat(
      utf8ToBytes("fingerprints"),
      fingerprintField(transcript, "initiatorFingerprint"),
      fingerprintField(transcript, "responderFingerprint"),
    );
    return hmac(sha512, this.#macKey, concatBytes(lvCat(this.#messages[of], AD[of]), fingerprints));
  }

  confirm(transcript: PakeTranscript): Uint8Array {
    return this.#tag(this.role, transcript);
  }

  verify(peerTag: Uint8Array, transcript: PakeTranscript): boolean {
    const expected = this.#tag(this.role === "initiator" ? "responder" : "initiator", transcript);
    const ok = peerTag instanceof Uint8Array && peerTag.length === TAG_LENGTH &&
      equalBytes(expected, peerTag) && this.#verified !== false;
    this.#verified = ok;
    return ok;
  }

  deriveKey(label: string, length: number): Uint8Array {
    if (this.#verified !== true) {
      throw new PakeError("deriveKey before the peer's confirmation tag was verified");
    }
    const info = lvCat(utf8ToBytes("tun/pake/v1/key"), utf8Field(label, "label", 1, LABEL_MAX));
    if (!Number.isInteger(length) || length < 1 || length > DERIVE_MAX) {
      throw new PakeError(`key length ${length} is outside 1..${DERIVE_MAX}`);
    }
    return hkdf(sha512, this.#isk, this.#sid, info, length);
  }
}
