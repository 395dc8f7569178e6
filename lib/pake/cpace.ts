/**
 * CPace over ristretto255 with SHA-512 (the CPACE-RISTR255-SHA512 suite), as
 * specified in draft-irtf-cfrg-cpace-21, initiator-responder setting only.
 * Section names below are that draft's headings. Every function is pure and
 * deterministic except sampleScalar; session.ts assembles them into a protocol run.
 *
 *     A (initiator)                                B (responder)
 *     g  = calculate_generator(PRS, CI, sid)       g  = calculate_generator(PRS, CI, sid)
 *     Ya = encode(ya * g)    ----- Ya (32) ---->   Yb = encode(yb * g)
 *                            <---- Yb (32) -----
 *     K  = encode(ya * decode(Yb))                 K  = encode(yb * decode(Ya))
 *     ISK = SHA-512(lv_cat(DSI || "_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb))
 */
import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { bytesToNumberLE, equalBytes } from "@noble/curves/utils.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { concatBytes, randomBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { PakeError } from "./error.ts";

const Point = ristretto255.Point;
/** A ristretto255 group element in noble's internal representation. */
export type Element = InstanceType<typeof Point>;

/** G_Ristretto255.DSI ("CPace group objects G_Ristretto255 and G_Decaf448"). */
export const DSI: Uint8Array = utf8ToBytes("CPaceRistretto255");
/** G.field_size_bytes: every encoded element (Ya, Yb, K) is this long. */
export const ELEMENT_LENGTH = 32;
/** H.s_in_bytes for SHA-512: the input block size the generator string pads to. */
export const SHA512_BLOCK = 128;
/** G.I: the public encoding of the neutral element, all zeros for ristretto255 (RFC 9496 §4.3.2). */
export const IDENTITY: Uint8Array = new Uint8Array(ELEMENT_LENGTH);

/** prepend_len ("Notation for string operations"): LEB128 length, then the bytes. */
export function prependLen(data: Uint8Array): Uint8Array {
  const len: number[] = [];
  let n = data.length;
  do {
    len.push(n < 128 ? n : (n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  } while (n > 0);
  return concatBytes(Uint8Array.from(len), data);
}

/** lv_cat(a0, a1, ...) = prepend_len(a0) || prepend_len(a1) || ...: a prefix-free encoding. */
export function lvCat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.map(prependLen));
}

/**
 * generator_string ("Common function for computing generators"): the zero pad
 * makes DSI and PRS fill the first hash block, so the work hashed with the
 * password does not depend on its length or on session data.
 */
export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  sInBytes: number,
): Uint8Array {
  const zpad = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, new Uint8Array(zpad), ci, sid);
}

/**
 * G.calculate_generator for ristretto255: SHA-512 of the generator string (64
 * bytes), then RFC 9496 §4.3.4 element derivation (noble's deriveToCurve).
 */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Element {
  const hash = sha512(generatorString(DSI, prs, ci, sid, SHA512_BLOCK));
  return ristretto255_hasher.deriveToCurve!(hash);
}

/**
 * G.sample_scalar, the draft's RECOMMENDED way: 32 random bytes with the bits
 * above group_size_bits (252) cleared, read little-endian. That is always below
 * the group order; zero (probability 2^-252) is resampled because a zero
 * scalar would send the identity.
 */
export function sampleScalar(): bigint {
  for (;;) {
    const bytes = randomBytes(ELEMENT_LENGTH);
    bytes[ELEMENT_LENGTH - 1] &= 0x0f;
    const y = bytesToNumberLE(bytes);
    if (y !== 0n) return y;
  }
}

/** G.scalar_mult(y, g) = encode(y * g), in constant time (noble's multiply). */
export function scalarMult(y: bigint, g: Element): Uint8Array {
  return g.multiply(y).toBytes();
}

/**
 * Untrusted bytes enter here. Decodes a peer's element and refuses what the
 * draft's scalar_mult_vfy maps to G.I: bytes that are not a canonical
 * ristretto255 encoding (RFC 9496 §4.3.1), and the identity itself
 * ("Implementation verification": the run MUST abort).
 */
export function decodeElement(bytes: unknown): Element {
  if (!(bytes instanceof Uint8Array)) throw new PakeError("peer message is not a byte array");
  if (bytes.length !== ELEMENT_LENGTH) {
    throw new PakeError(`peer message is ${bytes.length} bytes, expected ${ELEMENT_LENGTH}`);
  }
  let element: Element;
  try {
    element = Point.fromBytes(bytes);
  } catch {
    throw new PakeError("peer message is not a valid ristretto255 element encoding");
  }
  if (element.is0()) throw new PakeError("peer message is the identity element");
  return element;
}

/**
 * K = G.scalar_mult_vfy(y, X), aborting where the draft returns G.I. In a
 * prime-order group y * X is the identity only if X is, so the second check
 * cannot fire after decodeElement; it stays because the draft says "MUST abort
 * if K = G.I" and the check costs nothing.
 */
export function sharedSecret(y: bigint, peer: Uint8Array): Uint8Array {
  const k = scalarMult(y, decodeElement(peer));
  if (equalBytes(k, IDENTITY)) throw new PakeError("shared element is the identity");
  return k;
}

/** transcript_ir(Ya, ADa, Yb, ADb) = lv_cat(Ya, ADa) || lv_cat(Yb, ADb). */
export function transcriptIr(
  ya: Uint8Array,
  ada: Uint8Array,
  yb: Uint8Array,
  adb: Uint8Array,
): Uint8Array {
  return concatBytes(lvCat(ya, ada), lvCat(yb, adb));
}

/** ISK = H.hash(lv_cat(G.DSI || "_ISK", sid, K) || transcript) ("CPace protocol instructions"). */
export function deriveIsk(sid: Uint8Array, k: Uint8Array, transcript: Uint8Array): Uint8Array {
  return sha512(concatBytes(lvCat(concatBytes(DSI, utf8ToBytes("_ISK")), sid, k), transcript));
}
