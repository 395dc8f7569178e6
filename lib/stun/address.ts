/**
 * Address attributes: MAPPED-ADDRESS (RFC 8489 §14.1), XOR-MAPPED-ADDRESS
 * (§14.2), and RFC 5780's RESPONSE-ORIGIN and OTHER-ADDRESS (§7.3, §7.4),
 * which use the plain MAPPED-ADDRESS layout (RFC 5780 §7.1). TURN's XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS (RFC 8656 §18.3,
 * §18.5) share the XOR layout: define them with {@link xorAddressAttribute}.
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |0 0 0 0 0 0 0 0|    Family     |         (X-)Port              |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                 (X-)Address (32 bits or 128 bits)             |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Family 0x01 is IPv4 (value length 8), 0x02 is IPv6 (value length 20). The
 * XOR form hides the address from NATs that rewrite addresses they see in
 * payloads: X-Port is the port XOR the cookie's top 16 bits, X-Address the
 * address XOR the cookie (IPv4) or XOR cookie || transaction id (IPv6).
 */
import { AttrType, MAGIC_COOKIE } from "./constants.ts";
import { StunDecodeError } from "./errors.ts";
import type { AttributeCodec, MessageContext } from "./attributes.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./ip.ts";

/** An IP address and port as carried in address attributes. */
export interface TransportAddress {
  family: "IPv4" | "IPv6";
  /** Dotted quad or RFC 5952 text, the way node:dgram reports peers. */
  address: string;
  port: number;
}

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;
const COOKIE_BYTES = new Uint8Array([0x21, 0x12, 0xa4, 0x42]);

/** A plain address attribute (MAPPED-ADDRESS, ALTERNATE-SERVER). */
export function addressAttribute(type: number, name: string): AttributeCodec<TransportAddress> {
  return {
    type,
    name,
    encode: (addr) => encodeAddress(addr, name, undefined),
    decode: (bytes) => decodeAddress(bytes, name, undefined),
  };
}

/** An XOR-obfuscated address attribute (XOR-MAPPED-ADDRESS; TURN's XOR-PEER/RELAYED-ADDRESS). */
export function xorAddressAttribute(type: number, name: string): AttributeCodec<TransportAddress> {
  return {
    type,
    name,
    encode: (addr, ctx) => encodeAddress(addr, name, ctx),
    decode: (bytes, ctx) => decodeAddress(bytes, name, ctx),
  };
}

/** MAPPED-ADDRESS (RFC 8489 §14.1), kept for servers that predate XOR-MAPPED-ADDRESS. */
export const MappedAddress = addressAttribute(AttrType.MAPPED_ADDRESS, "MAPPED-ADDRESS");
/** XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the reflexive address a Binding response reports. */
export const XorMappedAddress = xorAddressAttribute(
  AttrType.XOR_MAPPED_ADDRESS,
  "XOR-MAPPED-ADDRESS",
);
/** ALTERNATE-SERVER (RFC 8489 §14.15), sent with 300 Try Alternate. */
export const AlternateServer = addressAttribute(AttrType.ALTERNATE_SERVER, "ALTERNATE-SERVER");
/** RESPONSE-ORIGIN (RFC 5780 §7.3): the address and port a Binding response was sent from. */
export const ResponseOrigin = addressAttribute(AttrType.RESPONSE_ORIGIN, "RESPONSE-ORIGIN");
/**
 * OTHER-ADDRESS (RFC 5780 §7.4): where the server would answer from if asked
 * to change both IP and port. Only servers with a second IP address send it.
 */
export const OtherAddress = addressAttribute(AttrType.OTHER_ADDRESS, "OTHER-ADDRESS");

/** The pad XORed over the address: cookie, then (IPv6) the transaction id. */
function xorPad(ctx: MessageContext, length: number): Uint8Array {
  const pad = new Uint8Array(length);
  pad.set(COOKIE_BYTES);
  if (length > 4) pad.set(ctx.transactionId.subarray(0, length - 4), 4);
  return pad;
}

function encodeAddress(
  addr: TransportAddress,
  name: string,
  xor: MessageContext | undefined,
): Uint8Array {
  if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 0xffff) {
    throw new RangeError(`${name} port ${addr.port} is not 0..65535`);
  }
  const ip = addr.family === "IPv4" ? parseIPv4(addr.address) : parseIPv6(addr.address);
  if (!ip) throw new TypeError(`${name}: "${addr.address}" is not an ${addr.family} address`);
  const out = new Uint8Array(4 + ip.length);
  const view = new DataView(out.buffer);
  out[1] = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  view.setUint16(2, xor ? addr.port ^ (MAGIC_COOKIE >>> 16) : addr.port);
  if (xor) {
    if (xor.transactionId.length !== 12) throw new RangeError("transaction id must be 12 bytes");
    const pad = xorPad(xor, ip.length);
    for (let i = 0; i < ip.length; i++) ip[i] ^= pad[i];
  }
  out.set(ip, 4);
  return out;
}

/** UNTRUSTED INPUT: `bytes` is an attribute value off the wire. */
function decodeAddress(
  bytes: Uint8Array,
  name: string,
  xor: MessageContext | undefined,
): TransportAddress {
  if (bytes.length < 4) throw new StunDecodeError(`${name}.length`, "shorter than 4 bytes");
  // The first byte is reserved; RFC 8489 §14.1 says receivers ignore it.
  const family = bytes[1];
  let ipLength: number;
  if (family === FAMILY_IPV4) ipLength = 4;
  else if (family === FAMILY_IPV6) ipLength = 16;
  else {throw new StunDecodeError(
      `${name}.family`,
      `unknown address family 0x${family.toString(16)}`,
    );}
  if (bytes.length !== 4 + ipLength) {
    throw new StunDecodeError(
      `${name}.length`,
      `${bytes.length} bytes, family ${family} needs ${4 + ipLength}`,
    );
  }
  let port = (bytes[2] << 8) | bytes[3];
  const ip = new Uint8Array(bytes.subarray(4)); // a copy: the XOR below must not touch the input
  if (xor) {
    port ^= MAGIC_COOKIE >>> 16;
    const pad = xorPad(xor, ipLength);
    for (let i = 0; i < ipLength; i++) ip[i] ^= pad[i];
  }
  return ipLength === 4
    ? { family: "IPv4", address: formatIPv4(ip), port }
    : { family: "IPv6", address: formatIPv6(ip), port };
}
