/**
 * The prefix of a WebTransport bidirectional stream over HTTP/3
 * (draft-ietf-webtrans-http3, "Bidirectional Streams"), which the Deno adapter reads and writes
 * itself (see deno_webtransport.ts for why):
 *
 *     WT_STREAM (varint, 0x41) | Session ID (varint)
 *
 * Varints are QUIC variable-length integers (RFC 9000 §16): the top two bits
 * of the first byte give the length, 1, 2, 4 or 8 bytes, big-endian. Pure
 * functions, no I/O.
 */

/** Signal value opening a WebTransport bidirectional stream (draft-ietf-webtrans-http3). */
export const WT_BIDI_STREAM = 0x41;

/** Largest value a QUIC varint holds, 2^62 − 1 (RFC 9000 §16). */
export const MAX_VARINT = 2n ** 62n - 1n;

/** A stream prefix that does not decode. */
export class StreamHeaderError extends Error {
  constructor(readonly field: "type" | "sessionId", message: string) {
    super(`${field}: ${message}`);
    this.name = "StreamHeaderError";
  }
}

/** Length in bytes of the varint whose first byte is `first` (RFC 9000 §16, Table 4). */
export function varintLength(first: number): 1 | 2 | 4 | 8 {
  return (1 << (first >> 6)) as 1 | 2 | 4 | 8;
}

/** Encode `value` (0..2^62−1) as a QUIC varint in its shortest form. */
export function encodeVarint(value: bigint | number): Uint8Array {
  const v = BigInt(value);
  if (v < 0n || v > MAX_VARINT) throw new RangeError(`varint out of range: ${v}`);
  const length = v < 0x40n ? 1 : v < 0x4000n ? 2 : v < 0x4000_0000n ? 4 : 8;
  const out = new Uint8Array(length);
  let rest = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  out[0] |= [0, 0x40, 0, 0x80, 0, 0, 0, 0xc0][length - 1];
  return out;
}

/** Decode one varint from the start of `bytes`; undefined if `bytes` is too short. */
export function decodeVarint(bytes: Uint8Array): { value: bigint; length: number } | undefined {
  if (bytes.length === 0) return undefined;
  const length = varintLength(bytes[0]);
  if (bytes.length < length) return undefined;
  let value = BigInt(bytes[0] & 0x3f);
  for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(bytes[i]);
  return { value, length };
}

/** The prefix tun writes on each stream it opens in session `sessionId`. */
export function encodeBidiStreamHeader(sessionId: bigint | number): Uint8Array {
  const type = encodeVarint(WT_BIDI_STREAM);
  const session = encodeVarint(sessionId);
  const out = new Uint8Array(type.length + session.length);
  out.set(type);
  out.set(session, type.length);
  return out;
}

/**
 * Read the prefix of a peer-opened stream (untrusted bytes from the network)
 * with `readExactly`, which resolves to exactly n bytes or null at end of
 * stream. At most 16 bytes are read; nothing past the prefix is consumed.
 */
export async function readBidiStreamHeader(
  readExactly: (n: number) => Promise<Uint8Array | null>,
): Promise<{ type: bigint; sessionId: bigint }> {
  const type = await readVarint(readExactly, "type");
  if (type !== BigInt(WT_BIDI_STREAM)) {
    throw new StreamHeaderError("type", `0x${type.toString(16)} is not a WebTransport stream`);
  }
  return { type, sessionId: await readVarint(readExactly, "sessionId") };
}

async function readVarint(
  readExactly: (n: number) => Promise<Uint8Array | null>,
  field: "type" | "sessionId",
): Promise<bigint> {
  const first = await readExactly(1);
  if (!first) throw new StreamHeaderError(field, "stream ended before it");
  const length = varintLength(first[0]);
  const rest = length === 1 ? new Uint8Array(0) : await readExactly(length - 1);
  if (!rest) throw new StreamHeaderError(field, `stream ended inside a ${length}-byte varint`);
  const bytes = new Uint8Array(length);
  bytes.set(first);
  bytes.set(rest, 1);
  return decodeVarint(bytes)!.value;
}
