/**
 * Typed views of attribute values. Each attribute is a small codec object
 * with an encode and a decode that checks lengths first; {@link getAttribute}
 * and {@link setAttribute} apply one to a message's generic attribute list.
 * TURN adds its attributes by defining more codecs with the factories here
 * and in address.ts; nothing in message.ts needs to change.
 */
import { AttrType } from "./constants.ts";
import { StunDecodeError } from "./errors.ts";
import type { StunAttribute, StunMessage } from "./message.ts";
import { type TransportAddress, xorAddressAttribute } from "./address.ts";

/** What a codec may need from the message around the attribute (XOR addresses use the id). */
export interface MessageContext {
  readonly transactionId: Uint8Array;
}

/** Encoder and decoder for one attribute type's value. */
export interface AttributeCodec<T> {
  readonly type: number;
  /** RFC name, e.g. "XOR-MAPPED-ADDRESS"; decode errors name fields under it. */
  readonly name: string;
  /** Value bytes (unpadded). Throws RangeError/TypeError for values the RFC forbids. */
  encode(value: T, ctx: MessageContext): Uint8Array;
  /** UNTRUSTED INPUT: `bytes` is a value straight off the wire. Throws StunDecodeError. */
  decode(bytes: Uint8Array, ctx: MessageContext): T;
}

/** Decoded value of the first attribute of the codec's type, or undefined if absent. */
export function getAttribute<T>(msg: StunMessage, codec: AttributeCodec<T>): T | undefined {
  const attr = msg.attributes.find((a) => a.type === codec.type);
  return attr === undefined ? undefined : codec.decode(attr.value, msg);
}

/** Replace the first attribute of the codec's type, or append one. Returns `msg`. */
export function setAttribute<T>(msg: StunMessage, codec: AttributeCodec<T>, value: T): StunMessage {
  const attr: StunAttribute = { type: codec.type, value: codec.encode(value, msg) };
  const index = msg.attributes.findIndex((a) => a.type === codec.type);
  if (index >= 0) msg.attributes[index] = attr;
  else msg.attributes.push(attr);
  return msg;
}

const utf8Encoder = new TextEncoder();
// fatal: malformed UTF-8 is an error, not U+FFFD. ignoreBOM: keep a leading
// U+FEFF so decode -> encode gives back the same bytes.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * RFC 8489 texts are "fewer than 128 characters (which can be as long as 509
 * bytes when encoding them and as long as 763 bytes when decoding them)".
 */
const MAX_TEXT_DECODE_BYTES = 763;

/** Limits on what this side will encode into a UTF-8 text attribute. */
export interface TextLimits {
  /** Fewer than this many bytes (RFC 8489 USERNAME: 509). */
  maxBytesExclusive?: number;
  /** Fewer than this many characters (SOFTWARE, REALM, NONCE, reasons: 128). */
  maxCharsExclusive?: number;
}

function decodeUtf8(bytes: Uint8Array, field: string): string {
  if (bytes.length > MAX_TEXT_DECODE_BYTES) {
    throw new StunDecodeError(field, `${bytes.length} bytes exceeds ${MAX_TEXT_DECODE_BYTES}`);
  }
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new StunDecodeError(field, "not valid UTF-8");
  }
}

function encodeUtf8(text: string, name: string, limits: TextLimits): Uint8Array {
  const bytes = utf8Encoder.encode(text);
  const { maxBytesExclusive = 509, maxCharsExclusive } = limits;
  if (bytes.length >= maxBytesExclusive) {
    throw new RangeError(`${name} must be fewer than ${maxBytesExclusive} bytes`);
  }
  if (maxCharsExclusive !== undefined && [...text].length >= maxCharsExclusive) {
    throw new RangeError(`${name} must be fewer than ${maxCharsExclusive} characters`);
  }
  return bytes;
}

/** A UTF-8 text attribute (USERNAME, SOFTWARE, REALM, NONCE, ...). */
export function textAttribute(
  type: number,
  name: string,
  limits: TextLimits = {},
): AttributeCodec<string> {
  return {
    type,
    name,
    encode: (text) => encodeUtf8(text, name, limits),
    decode: (bytes) => decodeUtf8(bytes, name),
  };
}

/** A 32-bit unsigned integer attribute (PRIORITY; TURN's LIFETIME). */
export function uint32Attribute(type: number, name: string): AttributeCodec<number> {
  return {
    type,
    name,
    encode(n) {
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
        throw new RangeError(`${name} ${n} is not a 32-bit unsigned integer`);
      }
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, n);
      return out;
    },
    decode(bytes) {
      if (bytes.length !== 4) throw new StunDecodeError(`${name}.length`, "must be 4");
      return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    },
  };
}

/** A 64-bit unsigned integer attribute (ICE-CONTROLLED/ICE-CONTROLLING tie-breakers). */
export function uint64Attribute(type: number, name: string): AttributeCodec<bigint> {
  return {
    type,
    name,
    encode(n) {
      if (n < 0n || n > 0xffffffffffffffffn) {
        throw new RangeError(`${name} ${n} is not a 64-bit unsigned integer`);
      }
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, n);
      return out;
    },
    decode(bytes) {
      if (bytes.length !== 8) throw new StunDecodeError(`${name}.length`, "must be 8");
      return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
    },
  };
}

/** USERNAME (RFC 8489 §14.3): fewer than 509 bytes of UTF-8. */
export const Username = textAttribute(AttrType.USERNAME, "USERNAME", { maxBytesExclusive: 509 });
/** SOFTWARE (RFC 8489 §14.14): fewer than 128 characters describing the agent. */
export const Software = textAttribute(AttrType.SOFTWARE, "SOFTWARE", { maxCharsExclusive: 128 });
/** REALM (RFC 8489 §14.9): fewer than 128 characters. */
export const Realm = textAttribute(AttrType.REALM, "REALM", { maxCharsExclusive: 128 });
/** NONCE (RFC 8489 §14.10): fewer than 128 characters. */
export const Nonce = textAttribute(AttrType.NONCE, "NONCE", { maxCharsExclusive: 128 });
/** PRIORITY (RFC 8445 §7.1.1). */
export const Priority = uint32Attribute(AttrType.PRIORITY, "PRIORITY");
/** ICE-CONTROLLED (RFC 8445 §7.1.3). */
export const IceControlled = uint64Attribute(AttrType.ICE_CONTROLLED, "ICE-CONTROLLED");
/** ICE-CONTROLLING (RFC 8445 §7.1.3). */
export const IceControlling = uint64Attribute(AttrType.ICE_CONTROLLING, "ICE-CONTROLLING");

/** An error response's code and reason phrase. */
export interface ErrorCodeValue {
  /** 300..699, e.g. 420. */
  code: number;
  reason: string;
}

/** Codes and the reason phrases RFC 8489 §14.8 suggests for them. */
export const ErrorCodes = {
  TryAlternate: { code: 300, reason: "Try Alternate" },
  BadRequest: { code: 400, reason: "Bad Request" },
  Unauthenticated: { code: 401, reason: "Unauthenticated" },
  UnknownAttribute: { code: 420, reason: "Unknown Attribute" },
  StaleNonce: { code: 438, reason: "Stale Nonce" },
  ServerError: { code: 500, reason: "Server Error" },
} as const satisfies Record<string, ErrorCodeValue>;

/**
 * ERROR-CODE (RFC 8489 §14.8):
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |           Reserved, should be 0         |Class|     Number    |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |      Reason Phrase (variable)                                ..
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Class is the hundreds digit (3..6), Number the rest (0..99).
 */
export const ErrorCode: AttributeCodec<ErrorCodeValue> = {
  type: AttrType.ERROR_CODE,
  name: "ERROR-CODE",
  encode({ code, reason }) {
    if (!Number.isInteger(code) || code < 300 || code > 699) {
      throw new RangeError(`ERROR-CODE ${code} is outside 300..699`);
    }
    const phrase = encodeUtf8(reason, "ERROR-CODE reason", { maxCharsExclusive: 128 });
    const out = new Uint8Array(4 + phrase.length);
    out[2] = Math.floor(code / 100);
    out[3] = code % 100;
    out.set(phrase, 4);
    return out;
  },
  decode(bytes) {
    if (bytes.length < 4) throw new StunDecodeError("ERROR-CODE.length", "shorter than 4 bytes");
    const cls = bytes[2] & 0x07;
    const number = bytes[3];
    if (cls < 3 || cls > 6) throw new StunDecodeError("ERROR-CODE.class", `${cls} is not 3..6`);
    if (number > 99) throw new StunDecodeError("ERROR-CODE.number", `${number} is not 0..99`);
    return { code: cls * 100 + number, reason: decodeUtf8(bytes.subarray(4), "ERROR-CODE.reason") };
  },
};

/**
 * UNKNOWN-ATTRIBUTES (RFC 8489 §14.13): the 16-bit types a 420 response
 * refuses.
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |      Attribute 1 Type           |     Attribute 2 Type        |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |      Attribute 3 Type           |     Attribute 4 Type    ...
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const UnknownAttributes: AttributeCodec<number[]> = {
  type: AttrType.UNKNOWN_ATTRIBUTES,
  name: "UNKNOWN-ATTRIBUTES",
  encode(types) {
    if (types.length > 0x7fff) throw new RangeError("too many UNKNOWN-ATTRIBUTES");
    const out = new Uint8Array(types.length * 2);
    const view = new DataView(out.buffer);
    types.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t > 0xffff) {
        throw new RangeError(`attribute type ${t} does not fit in 16 bits`);
      }
      view.setUint16(i * 2, t);
    });
    return out;
  },
  decode(bytes) {
    if (bytes.length % 2 !== 0) {
      throw new StunDecodeError("UNKNOWN-ATTRIBUTES.length", `${bytes.length} is odd`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const types: number[] = [];
    for (let i = 0; i < bytes.length; i += 2) types.push(view.getUint16(i));
    return types;
  },
};

// ---------------------------------------------------------------------------
// NAT behaviour discovery attributes (RFC 5780 §7), carried by Binding only.
// RESPONSE-ORIGIN and OTHER-ADDRESS are plain address attributes: address.ts.

/** The two flags of CHANGE-REQUEST. */
export interface ChangeRequestFlags {
  /** Answer from the server's other IP address ("A", 0x04). */
  changeIp: boolean;
  /** Answer from the server's other port ("B", 0x02). */
  changePort: boolean;
}

const CHANGE_IP = 0x04;
const CHANGE_PORT = 0x02;

/**
 * CHANGE-REQUEST (RFC 5780 §7.2):
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 A B 0|
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The other 30 bits are sent as zero and ignored on receipt, so a future
 * flag does not make today's server refuse the request.
 */
export const ChangeRequest: AttributeCodec<ChangeRequestFlags> = {
  type: AttrType.CHANGE_REQUEST,
  name: "CHANGE-REQUEST",
  encode: ({ changeIp, changePort }) =>
    new Uint8Array([0, 0, 0, (changeIp ? CHANGE_IP : 0) | (changePort ? CHANGE_PORT : 0)]),
  decode(bytes) {
    if (bytes.length !== 4) throw new StunDecodeError("CHANGE-REQUEST.length", "must be 4");
    return { changeIp: (bytes[3] & CHANGE_IP) !== 0, changePort: (bytes[3] & CHANGE_PORT) !== 0 };
  },
};

/**
 * RESPONSE-PORT (RFC 5780 §7.5): the client port the response goes to.
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |             Port              |         (2 bytes padding)     |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Encoded with length 4, as coturn does; a length of 2 (the padding read as
 * attribute padding) is accepted too.
 */
export const ResponsePort: AttributeCodec<number> = {
  type: AttrType.RESPONSE_PORT,
  name: "RESPONSE-PORT",
  encode(port) {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
      throw new RangeError(`RESPONSE-PORT ${port} is not 0..65535`);
    }
    return new Uint8Array([port >> 8, port & 0xff, 0, 0]);
  },
  decode(bytes) {
    if (bytes.length !== 4 && bytes.length !== 2) {
      throw new StunDecodeError("RESPONSE-PORT.length", `${bytes.length} is neither 2 nor 4`);
    }
    return (bytes[0] << 8) | bytes[1];
  },
};

/**
 * PADDING (RFC 5780 §7.6): filler that makes a message big enough to be
 * fragmented. Its content does not matter, so the value is its length;
 * encoding writes that many zero bytes.
 */
export const Padding: AttributeCodec<number> = {
  type: AttrType.PADDING,
  name: "PADDING",
  encode(length) {
    if (!Number.isInteger(length) || length < 0 || length > 0xffff) {
      throw new RangeError(`PADDING length ${length} is not 0..65535`);
    }
    return new Uint8Array(length);
  },
  decode: (bytes) => bytes.length,
};

// ---------------------------------------------------------------------------
// TURN attributes (RFC 8656 §18). The server in lib/turn uses these; they live
// here beside the STUN ones so every attribute codec is in one place.

/** TURN attribute types (RFC 8656 §18, RFC 8489 §18.3 registry). */
export const TurnAttrType = {
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  RESERVATION_TOKEN: 0x0022,
  /** RFC 8656 §18.11; comprehension-optional. */
  ADDITIONAL_ADDRESS_FAMILY: 0x8000,
  /** RFC 8656 §18.12; comprehension-optional. */
  ADDRESS_ERROR_CODE: 0x8001,
  /** RFC 8656 §18.13; comprehension-optional. */
  ICMP: 0x8004,
} as const;

/** Opaque bytes, at most `maxLength` (DATA). */
export function bytesAttribute(
  type: number,
  name: string,
  maxLength = 0xffff,
): AttributeCodec<Uint8Array> {
  return {
    type,
    name,
    encode(bytes) {
      if (bytes.length > maxLength) throw new RangeError(`${name} exceeds ${maxLength} bytes`);
      return bytes;
    },
    decode(bytes) {
      if (bytes.length > maxLength) {
        throw new StunDecodeError(`${name}.length`, `${bytes.length} exceeds ${maxLength}`);
      }
      return bytes;
    },
  };
}

/** An attribute whose presence is the whole message (DONT-FRAGMENT): no value bytes. */
export function flagAttribute(type: number, name: string): AttributeCodec<true> {
  return {
    type,
    name,
    encode: () => new Uint8Array(0),
    decode(bytes) {
      if (bytes.length !== 0) throw new StunDecodeError(`${name}.length`, "must be 0");
      return true;
    },
  };
}

/**
 * A one-byte value followed by three reserved bytes (REQUESTED-TRANSPORT,
 * REQUESTED-ADDRESS-FAMILY):
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |     Value     |                    RFFU                       |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFFU (reserved for future use) is sent as zero and ignored on receipt.
 */
function leadingByteAttribute(type: number, name: string): AttributeCodec<number> {
  return {
    type,
    name,
    encode(n) {
      if (!Number.isInteger(n) || n < 0 || n > 0xff) {
        throw new RangeError(`${name} ${n} does not fit in 8 bits`);
      }
      return new Uint8Array([n, 0, 0, 0]);
    },
    decode(bytes) {
      if (bytes.length !== 4) throw new StunDecodeError(`${name}.length`, "must be 4");
      return bytes[0];
    },
  };
}

/**
 * CHANNEL-NUMBER (RFC 8656 §18.1):
 *
 *      0                   1                   2                   3
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |        Channel Number         |         RFFU = 0              |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Any 16-bit number decodes; whether it is an allowed channel is the
 * server's call (RFC 8656 §11.2 answers 400 for one out of range).
 */
export const ChannelNumber: AttributeCodec<number> = {
  type: TurnAttrType.CHANNEL_NUMBER,
  name: "CHANNEL-NUMBER",
  encode(n) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
      throw new RangeError(`CHANNEL-NUMBER ${n} does not fit in 16 bits`);
    }
    return new Uint8Array([n >> 8, n & 0xff, 0, 0]);
  },
  decode(bytes) {
    if (bytes.length !== 4) throw new StunDecodeError("CHANNEL-NUMBER.length", "must be 4");
    return (bytes[0] << 8) | bytes[1];
  },
};

/** XOR-PEER-ADDRESS (RFC 8656 §18.3): a peer's address, in XOR-MAPPED-ADDRESS layout. */
export const XorPeerAddress: AttributeCodec<TransportAddress> = xorAddressAttribute(
  TurnAttrType.XOR_PEER_ADDRESS,
  "XOR-PEER-ADDRESS",
);

/** XOR-RELAYED-ADDRESS (RFC 8656 §18.5): the relayed transport address an Allocate gave. */
export const XorRelayedAddress: AttributeCodec<TransportAddress> = xorAddressAttribute(
  TurnAttrType.XOR_RELAYED_ADDRESS,
  "XOR-RELAYED-ADDRESS",
);

/** LIFETIME (RFC 8656 §18.2): seconds until the allocation expires. */
export const Lifetime = uint32Attribute(TurnAttrType.LIFETIME, "LIFETIME");

/** DATA (RFC 8656 §18.4): the application payload of Send and Data indications. */
export const Data = bytesAttribute(TurnAttrType.DATA, "DATA");

/** REQUESTED-TRANSPORT (RFC 8656 §18.6): an IP protocol number; 17 (UDP) is the one TURN relays. */
export const RequestedTransport = leadingByteAttribute(
  TurnAttrType.REQUESTED_TRANSPORT,
  "REQUESTED-TRANSPORT",
);

/** IANA protocol number for UDP, the value of REQUESTED-TRANSPORT. */
export const TRANSPORT_UDP = 17;

const FAMILY_BYTES = { IPv4: 0x01, IPv6: 0x02 } as const;
const requestedFamilyByte = leadingByteAttribute(
  TurnAttrType.REQUESTED_ADDRESS_FAMILY,
  "REQUESTED-ADDRESS-FAMILY",
);

/**
 * REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.8): 0x01 IPv4, 0x02 IPv6, then
 * three reserved bytes. Another family byte fails with the field
 * `REQUESTED-ADDRESS-FAMILY.family`, which a server answers with 440.
 */
export const RequestedAddressFamily: AttributeCodec<"IPv4" | "IPv6"> = {
  type: TurnAttrType.REQUESTED_ADDRESS_FAMILY,
  name: "REQUESTED-ADDRESS-FAMILY",
  encode: (family, ctx) => requestedFamilyByte.encode(FAMILY_BYTES[family], ctx),
  decode(bytes, ctx) {
    const family = requestedFamilyByte.decode(bytes, ctx);
    if (family === FAMILY_BYTES.IPv4) return "IPv4";
    if (family === FAMILY_BYTES.IPv6) return "IPv6";
    throw new StunDecodeError(
      "REQUESTED-ADDRESS-FAMILY.family",
      `0x${family.toString(16)} is neither IPv4 nor IPv6`,
    );
  },
};

/**
 * EVEN-PORT (RFC 8656 §18.7): one byte whose top bit R asks the server to
 * also reserve the next port up for a later allocation.
 *
 *      0
 *      0 1 2 3 4 5 6 7
 *     +-+-+-+-+-+-+-+-+
 *     |R|    RFFU     |
 *     +-+-+-+-+-+-+-+-+
 */
export const EvenPort: AttributeCodec<{ reserveNext: boolean }> = {
  type: TurnAttrType.EVEN_PORT,
  name: "EVEN-PORT",
  encode: ({ reserveNext }) => new Uint8Array([reserveNext ? 0x80 : 0]),
  decode(bytes) {
    if (bytes.length !== 1) throw new StunDecodeError("EVEN-PORT.length", "must be 1");
    return { reserveNext: (bytes[0] & 0x80) !== 0 };
  },
};

/** DONT-FRAGMENT (RFC 8656 §18.9): no value; asks for the DF bit on relayed datagrams. */
export const DontFragment = flagAttribute(TurnAttrType.DONT_FRAGMENT, "DONT-FRAGMENT");

/** RESERVATION-TOKEN (RFC 8656 §18.10): 8 bytes naming a port the server holds back. */
export const ReservationToken = uint64Attribute(
  TurnAttrType.RESERVATION_TOKEN,
  "RESERVATION-TOKEN",
);
