/**
 * MESSAGE-INTEGRITY (RFC 8489 §14.5): an HMAC-SHA1 over the message up to the
 * attribute, keyed with a short-term or long-term credential (§9.1, §9.2).
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |     Type = 0x0008             |         Length = 20           |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                   HMAC-SHA1 (20 bytes)                        |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The hashed text is the message up to and including the attribute before
 * MESSAGE-INTEGRITY, with the header's Message Length rewritten to end just
 * after MESSAGE-INTEGRITY (so a FINGERPRINT after it is not counted).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import {
  ATTRIBUTE_HEADER_SIZE,
  attributeOffsets,
  AttrType,
  HEADER_SIZE,
  LENGTH_OFFSET,
} from "./constants.ts";
import type { DecodedStunMessage } from "./message.ts";

const HMAC_SHA1_SIZE = 20;
/** Bytes MESSAGE-INTEGRITY adds to a message. */
export const INTEGRITY_ATTRIBUTE_SIZE = ATTRIBUTE_HEADER_SIZE + HMAC_SHA1_SIZE;

const utf8 = new TextEncoder();

/**
 * Short-term credential key (RFC 8489 §9.1.1): the password itself. RFC 8489
 * asks for OpaqueString (RFC 8265) preparation first; that is left to the
 * caller, and is a no-op for the ASCII passwords ICE and tun generate.
 */
export function shortTermKey(password: string): Uint8Array {
  return utf8.encode(password);
}

/**
 * Long-term credential key (RFC 8489 §9.2.2, algorithm MD5, which TURN uses):
 * MD5(username ":" realm ":" password), all UTF-8, already prepared by the
 * caller as for {@link shortTermKey}.
 */
export function longTermKey(username: string, realm: string, password: string): Uint8Array {
  const digest = createHash("md5").update(utf8.encode(`${username}:${realm}:${password}`))
    .digest();
  return new Uint8Array(digest);
}

/**
 * Write MESSAGE-INTEGRITY at `offset` in `out` (which has room for it and
 * holds a complete header and the attributes before it). Returns the offset
 * after the attribute. Used by `encodeMessage`.
 */
export function appendMessageIntegrity(out: Uint8Array, offset: number, key: Uint8Array): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const end = offset + INTEGRITY_ATTRIBUTE_SIZE;
  view.setUint16(LENGTH_OFFSET, end - HEADER_SIZE);
  const mac = hmacSha1(key, out.subarray(0, offset));
  view.setUint16(offset, AttrType.MESSAGE_INTEGRITY);
  view.setUint16(offset + 2, HMAC_SHA1_SIZE);
  out.set(mac, offset + ATTRIBUTE_HEADER_SIZE);
  return end;
}

/**
 * True when the message's first MESSAGE-INTEGRITY attribute is a valid
 * HMAC-SHA1 under `key`. False when it is missing, malformed or wrong. The
 * comparison is constant-time so an attacker learns nothing from timing.
 */
export function verifyMessageIntegrity(msg: DecodedStunMessage, key: Uint8Array): boolean {
  const index = msg.attributes.findIndex((a) => a.type === AttrType.MESSAGE_INTEGRITY);
  if (index < 0) return false;
  const received = msg.attributes[index].value;
  if (received.length !== HMAC_SHA1_SIZE) return false;
  const offset = attributeOffsets(msg.attributes)[index];
  const text = new Uint8Array(msg.raw.subarray(0, offset)); // a copy: the length is rewritten
  new DataView(text.buffer).setUint16(
    LENGTH_OFFSET,
    offset + INTEGRITY_ATTRIBUTE_SIZE - HEADER_SIZE,
  );
  return timingSafeEqual(hmacSha1(key, text), received);
}

function hmacSha1(key: Uint8Array, text: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha1", key).update(text).digest());
}
