/**
 * STUN wire constants (RFC 8489). Layouts are drawn next to the numbers they use.
 */

/**
 * Message header, RFC 8489 §5:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |0 0|     STUN Message Type     |         Message Length        |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                         Magic Cookie                          |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                     Transaction ID (96 bits)                  |
 *     |                                                               |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Message Length counts the bytes after the header, padding included, so it
 * is always a multiple of 4.
 */
export const HEADER_SIZE = 20;
export const MAGIC_COOKIE = 0x2112a442;
export const TRANSACTION_ID_SIZE = 12;
/** Offsets inside the header. */
export const TYPE_OFFSET = 0;
export const LENGTH_OFFSET = 2;
export const COOKIE_OFFSET = 4;
export const TRANSACTION_ID_OFFSET = 8;
/** Message Length is 16 bits, so no STUN message is longer than this. */
export const MAX_MESSAGE_SIZE = HEADER_SIZE + 0xffff;

/**
 * Attribute TLV, RFC 8489 §14:
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |         Type                  |            Length             |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                         Value (variable)                ....
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Length is the value's length before padding; the value is then padded to a
 * 4-byte boundary. Padding bytes may hold anything and receivers ignore them.
 */
export const ATTRIBUTE_HEADER_SIZE = 4;

/** Value length rounded up to the 4-byte boundary the next attribute starts on. */
export function padded(length: number): number {
  return (length + 3) & ~3;
}

/**
 * Message classes, RFC 8489 §5. The two class bits are spread through the
 * 14-bit message type together with the 12 method bits:
 *
 *      0                 1
 *      2  3  4 5 6 7 8 9 0 1 2 3 4 5
 *     +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
 *     |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
 *     +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const StunClass = {
  Request: 0b00,
  Indication: 0b01,
  SuccessResponse: 0b10,
  ErrorResponse: 0b11,
} as const;
export type StunClass = typeof StunClass[keyof typeof StunClass];

/** Methods (RFC 8489 §18.2). TURN (RFC 8656 §17) adds Allocate, Refresh, Send, ... here later. */
export const StunMethod = {
  Binding: 0x001,
} as const;

/**
 * Attribute types (RFC 8489 §18.3, ICE from RFC 8445 §16.1, NAT behaviour
 * discovery from RFC 5780 §7). Types below
 * 0x8000 are comprehension-required: an agent that does not understand one in
 * a request must refuse it with 420 (RFC 8489 §14, §6.3.1). Types from 0x8000
 * up are comprehension-optional and may be ignored.
 */
export const AttrType = {
  MAPPED_ADDRESS: 0x0001,
  /** RFC 5780 §7.2. */
  CHANGE_REQUEST: 0x0003,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  REALM: 0x0014,
  NONCE: 0x0015,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  /** RFC 5780 §7.6. */
  PADDING: 0x0026,
  /** RFC 5780 §7.5. */
  RESPONSE_PORT: 0x0027,
  PASSWORD_ALGORITHMS: 0x8002,
  ALTERNATE_DOMAIN: 0x8003,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
  /** RFC 5780 §7.3. */
  RESPONSE_ORIGIN: 0x802b,
  /** RFC 5780 §7.4 (the number RFC 3489 gave CHANGED-ADDRESS was 0x0005; this one is new). */
  OTHER_ADDRESS: 0x802c,
} as const;

/** True for attribute types an agent must understand to process the message (RFC 8489 §14). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/**
 * Byte offset of each attribute inside the message the list was decoded from,
 * so integrity checks can hash "everything before attribute i". Valid for a
 * decoded message because decoding keeps every attribute, in order, with its
 * exact length.
 */
export function attributeOffsets(attributes: readonly { value: Uint8Array }[]): number[] {
  const offsets: number[] = [];
  let offset = HEADER_SIZE;
  for (const attr of attributes) {
    offsets.push(offset);
    offset += ATTRIBUTE_HEADER_SIZE + padded(attr.value.length);
  }
  return offsets;
}
