/**
 * STUN message framing (RFC 8489 §5, §14): header, transaction id and a
 * generic list of attributes. Attribute values stay opaque bytes here; the
 * typed views live in attributes.ts and address.ts, so TURN can add its own
 * attributes without touching this file.
 */
import {
  ATTRIBUTE_HEADER_SIZE,
  COOKIE_OFFSET,
  HEADER_SIZE,
  LENGTH_OFFSET,
  MAGIC_COOKIE,
  MAX_MESSAGE_SIZE,
  padded,
  StunClass,
  TRANSACTION_ID_OFFSET,
  TRANSACTION_ID_SIZE,
  TYPE_OFFSET,
} from "./constants.ts";
import { StunDecodeError } from "./errors.ts";
import { appendMessageIntegrity, INTEGRITY_ATTRIBUTE_SIZE } from "./integrity.ts";
import { appendFingerprint, FINGERPRINT_ATTRIBUTE_SIZE } from "./fingerprint.ts";

/** One attribute as it sits on the wire: type and unpadded value. */
export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

/** A STUN message. Build one by hand or with {@link createMessage}. */
export interface StunMessage {
  /** 12-bit method, e.g. `StunMethod.Binding`. */
  method: number;
  class: StunClass;
  /** 96 bits; see {@link newTransactionId}. */
  transactionId: Uint8Array;
  /** In wire order. Several attributes may share a type. */
  attributes: StunAttribute[];
}

/** A message produced by {@link decodeMessage}; `raw` is what integrity checks hash. */
export interface DecodedStunMessage extends StunMessage {
  /** A copy of the exact datagram bytes, padding included. */
  readonly raw: Uint8Array;
}

/** Options for {@link encodeMessage}. */
export interface EncodeOptions {
  /** Append MESSAGE-INTEGRITY keyed with this (see integrity.ts for keys). Default: none. */
  integrityKey?: Uint8Array;
  /** Append FINGERPRINT as the last attribute. Default: false. */
  fingerprint?: boolean;
  /**
   * Byte used to pad attribute values to 4 bytes. Default 0. Receivers ignore
   * padding (RFC 8489 §14); this exists only to reproduce captured messages
   * such as RFC 5769's, which pad with spaces.
   */
  padding?: number;
}

/** Pack method and class into the 14-bit message type (RFC 8489 §5). */
export function messageType(method: number, cls: StunClass): number {
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) |
    ((cls & 0b10) << 7) | ((cls & 0b01) << 4);
}

/** Split a 14-bit message type into method and class (RFC 8489 §5). */
export function splitMessageType(type: number): { method: number; class: StunClass } {
  const method = ((type >> 2) & 0xf80) | ((type >> 1) & 0x070) | (type & 0x00f);
  const cls = (((type >> 7) & 0b10) | ((type >> 4) & 0b01)) as StunClass;
  return { method, class: cls };
}

/** 96 random bits from the platform CSPRNG (RFC 8489 §5 asks for uniform randomness). */
export function newTransactionId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(TRANSACTION_ID_SIZE));
}

/** A message with a fresh transaction id. */
export function createMessage(
  method: number,
  cls: StunClass,
  attributes: StunAttribute[] = [],
  transactionId: Uint8Array = newTransactionId(),
): StunMessage {
  return { method, class: cls, transactionId, attributes };
}

/**
 * Cheap demultiplexing test for a datagram that may be STUN, DTLS, RTP or
 * tunnel data (RFC 8489 §5, RFC 7983): at least a header long, the two top
 * bits zero, the magic cookie in place and a length that is a multiple of 4.
 * It does not validate attributes; use {@link decodeMessage} for that.
 */
export function isStunMessage(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER_SIZE) return false;
  if ((bytes[0] & 0xc0) !== 0) return false;
  if ((bytes[LENGTH_OFFSET + 1] & 0x03) !== 0) return false;
  return bytes[COOKIE_OFFSET] === 0x21 && bytes[COOKIE_OFFSET + 1] === 0x12 &&
    bytes[COOKIE_OFFSET + 2] === 0xa4 && bytes[COOKIE_OFFSET + 3] === 0x42;
}

/**
 * Decode one whole STUN message, e.g. a UDP datagram.
 *
 * UNTRUSTED INPUT: `bytes` comes from the network. Every length is checked
 * against what is actually there before anything is sliced or allocated, and
 * every failure is a {@link StunDecodeError} naming the field.
 */
export function decodeMessage(bytes: Uint8Array): DecodedStunMessage {
  if (bytes.length < HEADER_SIZE) {
    throw new StunDecodeError("header", `need ${HEADER_SIZE} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(TYPE_OFFSET);
  if ((type & 0xc000) !== 0) {
    throw new StunDecodeError("type", "the two most significant bits must be zero");
  }
  const cookie = view.getUint32(COOKIE_OFFSET);
  if (cookie !== MAGIC_COOKIE) {
    throw new StunDecodeError("magicCookie", `0x${cookie.toString(16)} is not 0x2112a442`);
  }
  const length = view.getUint16(LENGTH_OFFSET);
  if (length % 4 !== 0) {
    throw new StunDecodeError("length", `${length} is not a multiple of 4`);
  }
  if (HEADER_SIZE + length !== bytes.length) {
    throw new StunDecodeError(
      "length",
      `header says ${length} bytes follow, datagram has ${bytes.length - HEADER_SIZE}`,
    );
  }

  // Walk the TLVs, checking each length against the bytes left before copying.
  // Offsets stay multiples of 4 and the length is one, so at least a whole
  // attribute header is always left when the loop runs.
  const attributes: StunAttribute[] = [];
  let offset = HEADER_SIZE;
  while (offset < bytes.length) {
    const attrType = view.getUint16(offset);
    const attrLength = view.getUint16(offset + 2);
    const start = offset + ATTRIBUTE_HEADER_SIZE;
    if (start + padded(attrLength) > bytes.length) {
      throw new StunDecodeError(
        "attribute.length",
        `attribute 0x${attrType.toString(16).padStart(4, "0")} of ${attrLength} bytes ` +
          `at byte ${offset} runs past the end of the message`,
      );
    }
    attributes.push({ type: attrType, value: copy(bytes, start, start + attrLength) });
    offset = start + padded(attrLength);
  }

  const { method, class: cls } = splitMessageType(type);
  return {
    method,
    class: cls,
    transactionId: copy(bytes, TRANSACTION_ID_OFFSET, HEADER_SIZE),
    attributes,
    raw: copy(bytes, 0, bytes.length),
  };
}

/**
 * Encode a message. Attributes are written in order; MESSAGE-INTEGRITY and
 * then FINGERPRINT are appended when asked for, since both hash everything
 * before them (RFC 8489 §14.5, §14.7). Throws RangeError/TypeError for
 * messages that cannot be put on the wire; those are caller bugs, not input.
 */
export function encodeMessage(msg: StunMessage, options: EncodeOptions = {}): Uint8Array {
  const { integrityKey, fingerprint = false, padding = 0 } = options;
  if (msg.transactionId.length !== TRANSACTION_ID_SIZE) {
    throw new RangeError(`transaction id must be ${TRANSACTION_ID_SIZE} bytes`);
  }
  if (!Number.isInteger(msg.method) || msg.method < 0 || msg.method > 0xfff) {
    throw new RangeError(`method ${msg.method} does not fit in 12 bits`);
  }
  let size = HEADER_SIZE;
  for (const attr of msg.attributes) {
    if (!Number.isInteger(attr.type) || attr.type < 0 || attr.type > 0xffff) {
      throw new RangeError(`attribute type ${attr.type} does not fit in 16 bits`);
    }
    if (attr.value.length > 0xffff) {
      throw new RangeError(`attribute 0x${attr.type.toString(16)} value exceeds 65535 bytes`);
    }
    size += ATTRIBUTE_HEADER_SIZE + padded(attr.value.length);
  }
  if (integrityKey) size += INTEGRITY_ATTRIBUTE_SIZE;
  if (fingerprint) size += FINGERPRINT_ATTRIBUTE_SIZE;
  if (size > MAX_MESSAGE_SIZE) {
    throw new RangeError(`message of ${size} bytes exceeds the ${MAX_MESSAGE_SIZE}-byte limit`);
  }

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint16(TYPE_OFFSET, messageType(msg.method, msg.class));
  view.setUint32(COOKIE_OFFSET, MAGIC_COOKIE);
  out.set(msg.transactionId, TRANSACTION_ID_OFFSET);
  let offset = HEADER_SIZE;
  for (const attr of msg.attributes) {
    view.setUint16(offset, attr.type);
    view.setUint16(offset + 2, attr.value.length);
    out.set(attr.value, offset + ATTRIBUTE_HEADER_SIZE);
    const end = offset + ATTRIBUTE_HEADER_SIZE + padded(attr.value.length);
    out.fill(padding, offset + ATTRIBUTE_HEADER_SIZE + attr.value.length, end);
    offset = end;
  }
  view.setUint16(LENGTH_OFFSET, offset - HEADER_SIZE);
  if (integrityKey) offset = appendMessageIntegrity(out, offset, integrityKey);
  if (fingerprint) offset = appendFingerprint(out, offset);
  return out;
}

/** A fresh copy: Node's Buffer#slice would alias, and callers may reuse their buffer. */
function copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}
