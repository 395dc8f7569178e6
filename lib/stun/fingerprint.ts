/**
 * FINGERPRINT (RFC 8489 §14.7): CRC-32 of the message up to the attribute,
 * XORed with 0x5354554e ("STUN"), so STUN can be told apart from other
 * protocols sharing a port. It is always the last attribute.
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |     Type = 0x8028             |         Length = 4            |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |               CRC-32(message so far) ^ 0x5354554e             |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The header's Message Length already counts FINGERPRINT when the CRC is taken.
 */
import {
  ATTRIBUTE_HEADER_SIZE,
  attributeOffsets,
  AttrType,
  HEADER_SIZE,
  LENGTH_OFFSET,
} from "./constants.ts";
import type { DecodedStunMessage } from "./message.ts";

const FINGERPRINT_XOR = 0x5354554e;
/** Bytes FINGERPRINT adds to a message. */
export const FINGERPRINT_ATTRIBUTE_SIZE = ATTRIBUTE_HEADER_SIZE + 4;

/** CRC-32 as in ISO 3309 / ITU-T V.42 (the zlib/Ethernet one), reflected polynomial 0xedb88320. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * Write FINGERPRINT at `offset` in `out` (which has room for it). Returns the
 * offset after the attribute. Used by `encodeMessage`.
 */
export function appendFingerprint(out: Uint8Array, offset: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const end = offset + FINGERPRINT_ATTRIBUTE_SIZE;
  view.setUint16(LENGTH_OFFSET, end - HEADER_SIZE);
  const value = (crc32(out.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
  view.setUint16(offset, AttrType.FINGERPRINT);
  view.setUint16(offset + 2, 4);
  view.setUint32(offset + ATTRIBUTE_HEADER_SIZE, value);
  return end;
}

/** True when the message ends with a well-formed FINGERPRINT whose CRC matches. */
export function verifyFingerprint(msg: DecodedStunMessage): boolean {
  const last = msg.attributes.length - 1;
  if (last < 0) return false;
  const attr = msg.attributes[last];
  if (attr.type !== AttrType.FINGERPRINT || attr.value.length !== 4) return false;
  const offset = attributeOffsets(msg.attributes)[last];
  const received = new DataView(attr.value.buffer, attr.value.byteOffset, 4).getUint32(0);
  // FINGERPRINT is last, so raw's Message Length already ends after it.
  return ((crc32(msg.raw.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0) === received;
}

/** True when the message carries a FINGERPRINT attribute anywhere. */
export function hasFingerprint(msg: { attributes: readonly { type: number }[] }): boolean {
  return msg.attributes.some((a) => a.type === AttrType.FINGERPRINT);
}
