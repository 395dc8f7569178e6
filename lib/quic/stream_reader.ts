/**
 * Reads a protocol prefix (a request byte, a token, a proof) off the front of
 * a byte stream, then hands the rest of the stream on unread.
 */
export class PrefixReader {
  readonly #stream: ReadableStream<Uint8Array>;
  /**
   * On a byte stream (Deno's QUIC streams), a BYOB reader: it reads exactly
   * the prefix, so the rest is the stream itself, read as fast as any. A
   * default reader gets up to 64 KiB at once, and the bytes read ahead would
   * need a wrapping stream for the whole life of the stream.
   */
  readonly #byob: ReadableStreamBYOBReader | null = null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #leftover: Uint8Array | null = null;
  #released = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#stream = stream;
    try {
      this.#byob = stream.getReader({ mode: "byob" });
    } catch {
      this.#reader = stream.getReader();
    }
  }

  /** Exactly `n` bytes, or null when the stream ends first. Rejects if the stream errors. */
  async read(n: number): Promise<Uint8Array | null> {
    let out = new Uint8Array(n);
    let filled = 0;
    while (filled < n && this.#byob) {
      // The read takes `out`'s buffer and gives it back, `filled` bytes on.
      const { value, done } = await this.#byob.read(out.subarray(filled));
      if (done || !value) return null;
      out = new Uint8Array(value.buffer, 0, n);
      filled += value.byteLength;
    }
    while (filled < n) {
      let chunk = this.#leftover;
      this.#leftover = null;
      if (!chunk) {
        const { value, done } = await this.#reader!.read();
        if (done) return null;
        chunk = value;
      }
      const part = Math.min(chunk.byteLength, n - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      if (part < chunk.byteLength) this.#leftover = chunk.subarray(part);
    }
    return out;
  }

  /** One byte, or null at the end of the stream. */
  async byte(): Promise<number | null> {
    const b = await this.read(1);
    return b ? b[0] : null;
  }

  /** The rest of the stream, starting with any bytes read ahead. Call once. */
  rest(): ReadableStream<Uint8Array> {
    if (this.#released) throw new Error("rest() was already taken");
    this.#released = true;
    if (this.#byob) {
      this.#byob.releaseLock();
      return this.#stream;
    }
    const reader = this.#reader!;
    let leftover = this.#leftover;
    this.#leftover = null;
    if (!leftover) {
      reader.releaseLock();
      return this.#stream;
    }
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (leftover) {
          controller.enqueue(leftover);
          leftover = null;
          return;
        }
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }

  /** Stop reading: cancels the stream (QUIC STOP_SENDING). */
  cancel(reason = "refused"): void {
    (this.#byob ?? this.#reader)!.cancel(reason).catch(() => {});
  }
}

/** `p`, or a rejection after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
