/**
 * Buffered reads over the response stream: lines for heads, chunk sizes and
 * trailers, and runs of bytes for bodies. Untrusted bytes enter here.
 *
 * Reads arrive cut anywhere (a head over many reads, a CRLF split in two,
 * body bytes in the same read as the head), so whatever is read past what a
 * caller asked for stays buffered for the next call. Lines are bounded by the
 * caller's limit before they are returned, so a server cannot make us buffer
 * an endless head.
 */
import { HttpParseError } from "./errors.ts";
import { latin1Text } from "./syntax.ts";

const LF = 0x0a;
const CR = 0x0d;

export class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.cancel(this.#signal?.reason);
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /** Bytes from #start already searched for LF without finding one. */
  #scanned = 0;
  #ended = false;
  #consumed = 0;

  constructor(readable: ReadableStream<Uint8Array>, signal?: AbortSignal) {
    this.#reader = readable.getReader();
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Bytes handed out so far (lines with their terminators, body runs). */
  get consumed(): number {
    return this.#consumed;
  }

  /**
   * The next line without its terminator, as a byte string. LF ends a line
   * and a CR before it is dropped (RFC 9112 §2.2 lets a recipient accept a
   * bare LF). Null when the stream ends cleanly before the line starts.
   * Throws `tooLong()` when no line end is found within `limit` bytes, and
   * an HttpParseError naming `field` when the stream ends mid-line.
   */
  async readLine(
    limit: number,
    field: string,
    tooLong: () => HttpParseError,
  ): Promise<string | null> {
    for (;;) {
      const from = this.#start + this.#scanned;
      const at = this.#buf.subarray(from, this.#end).indexOf(LF);
      if (at >= 0) {
        const lf = from + at;
        if (lf + 1 - this.#start > limit) throw tooLong();
        const stop = lf > this.#start && this.#buf[lf - 1] === CR ? lf - 1 : lf;
        const line = latin1Text(this.#buf.subarray(this.#start, stop));
        this.#take(lf + 1 - this.#start);
        return line;
      }
      this.#scanned = this.#end - this.#start;
      if (this.#scanned >= limit) throw tooLong();
      if (!(await this.#fill())) {
        if (this.#end === this.#start) return null;
        throw new HttpParseError(field, "stream ended in the middle of a line");
      }
    }
  }

  /** Up to `max` (> 0) bytes, at least one; null at the end of the stream. */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (this.#end > this.#start) {
      const n = Math.min(max, this.#end - this.#start);
      const out = this.#buf.slice(this.#start, this.#start + n);
      this.#take(n);
      return out;
    }
    for (;;) {
      const chunk = await this.#read();
      if (chunk === null) return null;
      if (chunk.length === 0) continue;
      if (chunk.length <= max) {
        // Hand the stream's own chunk on; we keep no reference to it.
        this.#consumed += chunk.length;
        return chunk;
      }
      this.#append(chunk.subarray(max));
      this.#consumed += max;
      return chunk.subarray(0, max);
    }
  }

  /** Stop reading: cancel the stream unless it has ended already. Never throws. */
  async cancel(reason?: unknown): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#start = this.#end = this.#scanned = 0;
    this.#buf = new Uint8Array(0);
    if (this.#ended) return;
    this.#ended = true;
    try {
      await this.#reader.cancel(reason);
    } catch { /* the stream failed already; nothing left to release */ }
  }

  async #fill(): Promise<boolean> {
    const chunk = await this.#read();
    if (chunk === null) return false;
    this.#append(chunk);
    return true;
  }

  async #read(): Promise<Uint8Array | null> {
    if (this.#ended) this.#throwIfAborted();
    if (this.#ended) return null;
    const { value, done } = await this.#reader.read();
    this.#throwIfAborted();
    if (done) {
      this.#ended = true;
      this.#signal?.removeEventListener("abort", this.#onAbort);
      return null;
    }
    if (!(value instanceof Uint8Array)) {
      throw new TypeError("response stream gave a non-Uint8Array chunk");
    }
    return value;
  }

  #throwIfAborted(): void {
    if (this.#signal?.aborted) throw this.#signal.reason;
  }

  #take(n: number): void {
    this.#start += n;
    this.#scanned = 0;
    this.#consumed += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #append(chunk: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      const need = held + chunk.length;
      const next = need > this.#buf.length
        ? new Uint8Array(Math.max(need, this.#buf.length * 2, 4096))
        : this.#buf;
      // set() copies correctly even when source and target share #buf.
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}
