/**
 * Tunnel frame codec: pure functions over Uint8Array, no I/O.
 *
 * Every tunnelled TCP connection between a guest and a host travels as a stream
 * of frames over one reliable, ordered, message-based channel (a WebRTC
 * DataChannel, later QUIC or WebSocket). One channel message carries exactly one
 * frame.
 *
 * Wire layout (all integers big-endian):
 *
 *      0        1                               5
 *     +--------+-------------------------------+------------------------+
 *     |  type  |       stream id (u32)         |  payload (0..255 KiB)  |
 *     +--------+-------------------------------+------------------------+
 *
 *     type    payload                                         stream id
 *     HELLO   version u8 | reserved u8 | max u16 | window u32    0
 *     OPEN    empty                                           1..2^31-1
 *     DATA    1..max bytes of stream data (see HELLO)         != 0
 *     FIN     empty                                           != 0
 *     CREDIT  u32 >= 1: further bytes the sender may send     != 0
 *     RESET   utf-8 reason, 0..256 bytes                      != 0
 *     PING    8 opaque bytes                                  0
 *     PONG    the 8 bytes of the PING it answers              0
 *     GOAWAY  utf-8 reason, 0..256 bytes                      0
 *
 * Stream ids: the side that opens a stream picks its id (1..2^31-1) and never
 * reuses it. Bit 31 is set on every frame about a stream that the frame's
 * *receiver* opened, so both peers can open streams without a role or a
 * negotiation: ids from the two sides never collide.
 *
 * HELLO is each side's first frame; `window` is the receive window the sender
 * grants on every stream before any CREDIT, and `max` the largest DATA payload
 * it accepts, in KiB, 0 meaning 64 KiB (what the first v1 peers accepted, and
 * sent as zero in these then reserved bytes). A peer never sends DATA larger
 * than the other's `max`. The reserved byte is sent as zero and ignored. Only
 * the version byte is fixed for all versions; the rest of the payload belongs
 * to that version, so a peer that speaks another version is reported as such
 * rather than as malformed.
 */

/** The tunnel protocol version this code speaks (first byte of the HELLO payload). */
export const PROTOCOL_VERSION = 1;

/** Bytes before the payload: type u8 + stream id u32. */
export const HEADER_SIZE = 5;
/**
 * Largest DATA payload this codec reads (and announces in HELLO): fewer, larger
 * messages cost libwebrtc less per byte, and a frame stays below the 256 KiB a
 * DataChannel message can safely carry.
 */
export const MAX_DATA_PAYLOAD = 255 * 1024;
/** The DATA payload a peer that announces no `max` (0) accepts. */
export const V1_DATA_PAYLOAD = 64 * 1024;
/** Largest frame of any type. Longer messages are refused before they are read. */
export const MAX_FRAME_SIZE = HEADER_SIZE + MAX_DATA_PAYLOAD;
/** Largest RESET or GOAWAY reason, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 256;
/** Size of a PING/PONG payload. */
export const PING_PAYLOAD_SIZE = 8;
/** HELLO payload size in protocol version 1. */
export const HELLO_V1_SIZE = 8;
/** Bit 31 of a stream id: the stream was opened by the frame's receiver. */
export const REMOTE_STREAM_BIT = 0x8000_0000;
/** Largest id a side may give a stream it opens. */
export const MAX_STREAM_ID = 0x7fff_ffff;

/** Frame type byte values. */
export const FrameType = {
  HELLO: 0x00,
  OPEN: 0x01,
  DATA: 0x02,
  FIN: 0x03,
  CREDIT: 0x04,
  RESET: 0x05,
  PING: 0x06,
  PONG: 0x07,
  GOAWAY: 0x08,
} as const;

/** A decoded frame. DATA's `data` is a view into the decoded message, not a copy. */
export type Frame =
  | { type: "hello"; version: number; initialWindow: number; maxPayload: number }
  | { type: "open"; streamId: number }
  | { type: "data"; streamId: number; data: Uint8Array }
  | { type: "fin"; streamId: number }
  | { type: "credit"; streamId: number; credit: number }
  | { type: "reset"; streamId: number; reason: string }
  | { type: "ping"; opaque: Uint8Array }
  | { type: "pong"; opaque: Uint8Array }
  | { type: "goaway"; reason: string };

/** A message that is not a valid frame. `field` names the part that was wrong. */
export class FrameDecodeError extends Error {
  override name = "FrameDecodeError";
  constructor(readonly field: string, detail: string) {
    super(`tunnel frame ${field}: ${detail}`);
  }
}

const encoder = new TextEncoder();
const reasonDecoder = new TextDecoder("utf-8", { fatal: true });

/** Encode a frame into a new buffer. Throws RangeError for a frame we must never send. */
export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case "hello": {
      checkU8("version", frame.version);
      checkU32("initialWindow", frame.initialWindow, 1);
      const kib = frame.maxPayload / 1024;
      if (!Number.isInteger(kib) || kib < 1 || kib > 0xffff) {
        throw new RangeError(`HELLO maxPayload must be 1..65535 KiB, got ${frame.maxPayload}`);
      }
      const out = header(FrameType.HELLO, 0, HELLO_V1_SIZE);
      out[HEADER_SIZE] = frame.version;
      // 64 KiB is written as 0, as the first v1 peers wrote it.
      view(out).setUint16(HEADER_SIZE + 2, frame.maxPayload === V1_DATA_PAYLOAD ? 0 : kib);
      view(out).setUint32(HEADER_SIZE + 4, frame.initialWindow);
      return out;
    }
    case "open":
      if (frame.streamId < 1 || frame.streamId > MAX_STREAM_ID) {
        throw new RangeError(`OPEN stream id must be 1..${MAX_STREAM_ID}, got ${frame.streamId}`);
      }
      return header(FrameType.OPEN, frame.streamId, 0);
    case "data": {
      const n = frame.data.byteLength;
      if (n < 1 || n > MAX_DATA_PAYLOAD) {
        throw new RangeError(`DATA payload must be 1..${MAX_DATA_PAYLOAD} bytes, got ${n}`);
      }
      const out = header(FrameType.DATA, streamIdOf(frame.streamId), n);
      out.set(frame.data, HEADER_SIZE);
      return out;
    }
    case "fin":
      return header(FrameType.FIN, streamIdOf(frame.streamId), 0);
    case "credit": {
      checkU32("credit", frame.credit, 1);
      const out = header(FrameType.CREDIT, streamIdOf(frame.streamId), 4);
      view(out).setUint32(HEADER_SIZE, frame.credit);
      return out;
    }
    case "reset":
      return withReason(FrameType.RESET, streamIdOf(frame.streamId), frame.reason);
    case "ping":
    case "pong": {
      if (frame.opaque.byteLength !== PING_PAYLOAD_SIZE) {
        throw new RangeError(`${frame.type} payload must be ${PING_PAYLOAD_SIZE} bytes`);
      }
      const t = frame.type === "ping" ? FrameType.PING : FrameType.PONG;
      const out = header(t, 0, PING_PAYLOAD_SIZE);
      out.set(frame.opaque, HEADER_SIZE);
      return out;
    }
    case "goaway":
      return withReason(FrameType.GOAWAY, 0, frame.reason);
  }
}

/**
 * Decode one channel message into a frame. Untrusted bytes enter here: every
 * length is checked before it is used, and anything unexpected throws
 * {@link FrameDecodeError}. DATA payloads are views into `msg`.
 */
export function decodeFrame(msg: Uint8Array): Frame {
  if (msg.byteLength > MAX_FRAME_SIZE) {
    throw new FrameDecodeError("length", `${msg.byteLength} bytes exceeds ${MAX_FRAME_SIZE}`);
  }
  if (msg.byteLength < HEADER_SIZE) {
    throw new FrameDecodeError("header", `${msg.byteLength} bytes, need ${HEADER_SIZE}`);
  }
  const dv = view(msg);
  const type = msg[0];
  const streamId = dv.getUint32(1);
  const payload = msg.subarray(HEADER_SIZE);
  const len = payload.byteLength;

  switch (type) {
    case FrameType.HELLO: {
      requireConnectionId("HELLO", streamId);
      if (len < 1) throw new FrameDecodeError("version", "HELLO payload is empty");
      const version = payload[0];
      // Another version's HELLO layout is not ours to judge; the mux reports it.
      if (version !== PROTOCOL_VERSION) {
        return { type: "hello", version, initialWindow: 0, maxPayload: V1_DATA_PAYLOAD };
      }
      if (len !== HELLO_V1_SIZE) {
        throw new FrameDecodeError("payload", `HELLO v1 is ${HELLO_V1_SIZE} bytes, got ${len}`);
      }
      const kib = dv.getUint16(HEADER_SIZE + 2);
      const maxPayload = kib === 0 ? V1_DATA_PAYLOAD : kib * 1024;
      const initialWindow = dv.getUint32(HEADER_SIZE + 4);
      if (initialWindow === 0) throw new FrameDecodeError("initialWindow", "must be at least 1");
      return { type: "hello", version, initialWindow, maxPayload };
    }
    case FrameType.OPEN:
      if (streamId < 1 || streamId > MAX_STREAM_ID) {
        throw new FrameDecodeError("streamId", `OPEN needs 1..${MAX_STREAM_ID}, got ${streamId}`);
      }
      requireEmpty("OPEN", len);
      return { type: "open", streamId };
    case FrameType.DATA:
      requireStreamId("DATA", streamId);
      if (len === 0) throw new FrameDecodeError("payload", "DATA payload is empty");
      return { type: "data", streamId, data: payload };
    case FrameType.FIN:
      requireStreamId("FIN", streamId);
      requireEmpty("FIN", len);
      return { type: "fin", streamId };
    case FrameType.CREDIT: {
      requireStreamId("CREDIT", streamId);
      if (len !== 4) throw new FrameDecodeError("payload", `CREDIT is 4 bytes, got ${len}`);
      const credit = dv.getUint32(HEADER_SIZE);
      if (credit === 0) throw new FrameDecodeError("credit", "must be at least 1");
      return { type: "credit", streamId, credit };
    }
    case FrameType.RESET:
      requireStreamId("RESET", streamId);
      return { type: "reset", streamId, reason: decodeReason(payload) };
    case FrameType.PING:
    case FrameType.PONG: {
      const name = type === FrameType.PING ? "PING" : "PONG";
      requireConnectionId(name, streamId);
      if (len !== PING_PAYLOAD_SIZE) {
        throw new FrameDecodeError("payload", `${name} is ${PING_PAYLOAD_SIZE} bytes, got ${len}`);
      }
      return { type: type === FrameType.PING ? "ping" : "pong", opaque: payload.slice() };
    }
    case FrameType.GOAWAY:
      requireConnectionId("GOAWAY", streamId);
      return { type: "goaway", reason: decodeReason(payload) };
    default:
      throw new FrameDecodeError("type", `unknown frame type 0x${hex2(type)}`);
  }
}

/**
 * A DATA frame for `size` payload bytes at the start of `into` (a view of it,
 * header written); the caller copies the payload in at {@link HEADER_SIZE}.
 * Saves the sender a second copy of every byte it tunnels and, with a reused
 * `into`, an allocation per frame.
 */
export function dataFrameIn(into: Uint8Array, streamId: number, size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 1 || size > MAX_DATA_PAYLOAD) {
    throw new RangeError(`DATA payload must be 1..${MAX_DATA_PAYLOAD} bytes, got ${size}`);
  }
  if (into.byteLength < HEADER_SIZE + size) {
    throw new RangeError(`${into.byteLength} bytes cannot hold a DATA frame of ${size}`);
  }
  const frame = into.subarray(0, HEADER_SIZE + size);
  frame[0] = FrameType.DATA;
  view(frame).setUint32(1, streamIdOf(streamId));
  return frame;
}

/** Truncate `text` so that its UTF-8 form fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes = MAX_REASON_BYTES): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // back off continuation bytes
  return new TextDecoder().decode(bytes.subarray(0, end));
}

function header(type: number, streamId: number, payloadSize: number): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payloadSize);
  out[0] = type;
  view(out).setUint32(1, streamId);
  return out;
}

function withReason(type: number, streamId: number, reason: string): Uint8Array {
  const bytes = encoder.encode(reason);
  if (bytes.byteLength > MAX_REASON_BYTES) {
    throw new RangeError(`reason is ${bytes.byteLength} bytes, max ${MAX_REASON_BYTES}`);
  }
  const out = header(type, streamId, bytes.byteLength);
  out.set(bytes, HEADER_SIZE);
  return out;
}

function decodeReason(payload: Uint8Array): string {
  if (payload.byteLength > MAX_REASON_BYTES) {
    throw new FrameDecodeError("reason", `${payload.byteLength} bytes exceeds ${MAX_REASON_BYTES}`);
  }
  try {
    return reasonDecoder.decode(payload);
  } catch {
    throw new FrameDecodeError("reason", "not valid UTF-8");
  }
}

function streamIdOf(id: number): number {
  if (!Number.isInteger(id) || id < 1 || id > 0xffff_ffff || id === REMOTE_STREAM_BIT) {
    throw new RangeError(`invalid stream id ${id}`);
  }
  return id;
}

function requireStreamId(name: string, id: number): void {
  if ((id & MAX_STREAM_ID) === 0) {
    throw new FrameDecodeError("streamId", `${name} needs a stream id, got ${id}`);
  }
}

function requireConnectionId(name: string, id: number): void {
  if (id !== 0) throw new FrameDecodeError("streamId", `${name} must use stream id 0, got ${id}`);
}

function requireEmpty(name: string, len: number): void {
  if (len !== 0) throw new FrameDecodeError("payload", `${name} carries no payload, got ${len}`);
}

function checkU8(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${name} must be a u8`);
}

function checkU32(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 0xffff_ffff) {
    throw new RangeError(`${name} must be ${min}..${0xffff_ffff}, got ${v}`);
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
