/**
 * ChannelData messages (RFC 8656 §12.4): the 4-byte-header alternative to
 * Send and Data indications once a channel is bound.
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |         Channel Number        |            Length             |
 *     +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *     |                                                               |
 *     /                       Application Data                        /
 *     /                                                               /
 *     |                                                               |
 *     |                               +-------------------------------+
 *     |                               |
 *     +-------------------------------+
 *
 * Length counts the application data only. Over UDP padding is optional;
 * over TCP the message MUST be padded to a multiple of 4 bytes, because the
 * next frame starts right after it (RFC 8656 §12.5).
 */
import { TurnDecodeError } from "./errors.ts";

/** Bytes before the application data. */
export const CHANNEL_DATA_HEADER_SIZE = 4;
/** Length is 16 bits, so no ChannelData carries more application data than this. */
export const MAX_CHANNEL_DATA_LENGTH = 0xffff;

/** A decoded ChannelData message. */
export interface ChannelData {
  /** 0x4000-0x7FFF: the first two bits are always 01. */
  channel: number;
  /** The application data. A view into the input, not a copy. */
  data: Uint8Array;
}

/**
 * True when the first two bits are 01, the ChannelData mark (STUN messages
 * start with 00; RFC 8656 §12, RFC 7983's demultiplexing by first byte 64-79
 * for the allowed range).
 */
export function isChannelData(bytes: Uint8Array): boolean {
  return bytes.length >= 1 && (bytes[0] & 0xc0) === 0x40;
}

/**
 * Encode a ChannelData message. `pad` rounds the whole message up to a
 * multiple of 4 with zero bytes, as TCP and TLS transports require.
 * Throws RangeError for a channel outside 0x4000-0x7FFF or too much data.
 */
export function encodeChannelData(channel: number, data: Uint8Array, pad = false): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0x4000 || channel > 0x7fff) {
    throw new RangeError(`channel 0x${channel.toString(16)} is not 0x4000..0x7fff`);
  }
  if (data.length > MAX_CHANNEL_DATA_LENGTH) {
    throw new RangeError(`ChannelData of ${data.length} bytes exceeds ${MAX_CHANNEL_DATA_LENGTH}`);
  }
  const size = CHANNEL_DATA_HEADER_SIZE + data.length;
  const out = new Uint8Array(pad ? (size + 3) & ~3 : size);
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, CHANNEL_DATA_HEADER_SIZE);
  return out;
}

/**
 * Decode one ChannelData message, e.g. a UDP datagram or a frame cut out of
 * a stream. Bytes after the claimed length are padding and are ignored; a
 * message shorter than its claimed length is refused (RFC 8656 §12.5).
 *
 * UNTRUSTED INPUT: `bytes` comes from the network. Throws TurnDecodeError.
 */
export function decodeChannelData(bytes: Uint8Array): ChannelData {
  if (bytes.length < CHANNEL_DATA_HEADER_SIZE) {
    throw new TurnDecodeError(
      "ChannelData.header",
      `need ${CHANNEL_DATA_HEADER_SIZE} bytes, got ${bytes.length}`,
    );
  }
  const channel = (bytes[0] << 8) | bytes[1];
  if ((channel & 0xc000) !== 0x4000) {
    throw new TurnDecodeError(
      "ChannelData.channel",
      `0x${channel.toString(16)} does not start with bits 01`,
    );
  }
  const length = (bytes[2] << 8) | bytes[3];
  if (CHANNEL_DATA_HEADER_SIZE + length > bytes.length) {
    throw new TurnDecodeError(
      "ChannelData.length",
      `claims ${length} bytes, ${bytes.length - CHANNEL_DATA_HEADER_SIZE} present`,
    );
  }
  return {
    channel,
    data: bytes.subarray(CHANNEL_DATA_HEADER_SIZE, CHANNEL_DATA_HEADER_SIZE + length),
  };
}
