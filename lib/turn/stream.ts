/**
 * Cutting a TCP byte stream into STUN messages and ChannelData messages
 * (RFC 8656 §3.1, §12.5). Nothing else delimits them: each frame's own length
 * field says where the next one starts.
 *
 *     first two bits 00  STUN:        20-byte header, Message Length at bytes 2-3,
 *                                     frame = 20 + Message Length
 *     first two bits 01  ChannelData: 4-byte header, Length at bytes 2-3,
 *                                     frame = 4 + Length rounded up to 4 (padding)
 *     first two bits 1x  neither: the stream cannot be resynchronised
 *
 * Every length is read from a header and checked against `maxFrameBytes`
 * before a byte of the frame is buffered into its own allocation; incoming
 * chunks are queued as they are, never concatenated, so a peer that trickles
 * one byte at a time costs linear work.
 */
import { TurnDecodeError } from "./errors.ts";

/** One frame cut from the stream; `bytes` is a fresh copy including any padding. */
export type StreamFrame =
  | { kind: "stun"; bytes: Uint8Array }
  | { kind: "channel"; bytes: Uint8Array };

/** Options for {@link StreamDeframer}. */
export interface StreamDeframerOptions {
  /**
   * Largest frame accepted, in bytes. Default and maximum 65,552: a STUN
   * header plus the largest Message Length, a multiple of 4 in 16 bits
   * (20 + 65,532). A padded ChannelData is at most 4 + 65,536 = 65,540.
   */
  maxFrameBytes?: number;
}

const STUN_HEADER = 20;
const MAGIC_COOKIE = [0x21, 0x12, 0xa4, 0x42];
const ABSOLUTE_MAX_FRAME = STUN_HEADER + 0xfffc;

/**
 * Incremental deframer. `push` each chunk read from the socket; it returns
 * the frames completed so far. A TurnDecodeError means the stream is
 * corrupt: close the connection, since no later byte can be trusted to start
 * a frame.
 */
export class StreamDeframer {
  readonly #maxFrame: number;
  /** Unconsumed chunks; `#offset` bytes of the first are already consumed. */
  #chunks: Uint8Array[] = [];
  #offset = 0;
  #buffered = 0;
  #failed: TurnDecodeError | undefined;

  constructor(options: StreamDeframerOptions = {}) {
    const { maxFrameBytes = ABSOLUTE_MAX_FRAME } = options;
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < STUN_HEADER) {
      throw new RangeError(`maxFrameBytes ${maxFrameBytes} is below ${STUN_HEADER}`);
    }
    this.#maxFrame = Math.min(maxFrameBytes, ABSOLUTE_MAX_FRAME);
  }

  /** Bytes received but not yet part of a returned frame. Always below one frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /**
   * UNTRUSTED INPUT: `chunk` is whatever the socket delivered. Returns the
   * frames it completed. Throws TurnDecodeError on a corrupt stream, and
   * keeps throwing it for any later chunk.
   */
  push(chunk: Uint8Array): StreamFrame[] {
    if (this.#failed) throw this.#failed;
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: StreamFrame[] = [];
    try {
      for (;;) {
        const frame = this.#next();
        if (!frame) break;
        frames.push(frame);
      }
    } catch (err) {
      if (err instanceof TurnDecodeError) {
        this.#failed = err;
        this.#chunks = [];
        this.#buffered = 0;
      }
      throw err;
    }
    return frames;
  }

  /** The next complete frame, or undefined when more bytes are needed. */
  #next(): StreamFrame | undefined {
    if (this.#buffered < 4) return undefined;
    const first = this.#peek(0);
    const length = (this.#peek(2) << 8) | this.#peek(3);
    let size: number;
    let kind: StreamFrame["kind"];
    if ((first & 0xc0) === 0x00) {
      kind = "stun";
      if (length % 4 !== 0) {
        throw new TurnDecodeError("stream.stunLength", `${length} is not a multiple of 4`);
      }
      size = STUN_HEADER + length;
      if (this.#buffered >= 8) {
        for (let i = 0; i < 4; i++) {
          if (this.#peek(4 + i) !== MAGIC_COOKIE[i]) {
            throw new TurnDecodeError("stream.magicCookie", "a STUN frame lacks the magic cookie");
          }
        }
      }
    } else if ((first & 0xc0) === 0x40) {
      kind = "channel";
      size = (4 + length + 3) & ~3;
    } else {
      throw new TurnDecodeError(
        "stream.frameType",
        `first byte 0x${first.toString(16)} starts neither STUN (00) nor ChannelData (01)`,
      );
    }
    if (size > this.#maxFrame) {
      throw new TurnDecodeError("stream.length", `${size}-byte frame exceeds ${this.#maxFrame}`);
    }
    if (this.#buffered < size) return undefined;
    return { kind, bytes: this.#take(size) } as StreamFrame;
  }

  /** Byte `i` of the unconsumed input (i < 8, so this walks at most 8 chunks). */
  #peek(i: number): number {
    let index = i + this.#offset;
    for (const chunk of this.#chunks) {
      if (index < chunk.length) return chunk[index];
      index -= chunk.length;
    }
    throw new Error("peek past buffered bytes"); // unreachable: callers check #buffered
  }

  /** Remove and return the first `size` unconsumed bytes as one fresh array. */
  #take(size: number): Uint8Array {
    const out = new Uint8Array(size);
    let filled = 0;
    let used = 0; // chunks wholly consumed; removed in one splice, not one shift each
    while (filled < size) {
      const chunk = this.#chunks[used];
      const available = chunk.length - this.#offset;
      const n = Math.min(available, size - filled);
      out.set(chunk.subarray(this.#offset, this.#offset + n), filled);
      filled += n;
      if (n === available) {
        used++;
        this.#offset = 0;
      } else {
        this.#offset += n;
      }
    }
    this.#chunks.splice(0, used);
    this.#buffered -= size;
    return out;
  }
}
