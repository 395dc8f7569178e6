/** Helpers shared by the HTTP client tests: byte streams fed in chosen pieces. */
import { latin1Bytes } from "../../../lib/web/http/syntax.ts";

export { mutate, prng, randomBytes } from "../../_util/prng.ts";

/** Bytes of a byte string (one byte per character, like an HTTP head). */
export function bytes(text: string): Uint8Array {
  return latin1Bytes(text);
}

/** Text of bytes, for assertions. */
export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** A source that records what the parser asked of it. */
export interface FedStream {
  readable: ReadableStream<Uint8Array>;
  /** How many chunks have been delivered. */
  readonly delivered: number;
  /** The cancel reason, once cancelled. */
  readonly cancelled: { reason: unknown } | null;
  /** Whether the parser is done with it: read to the end, or cancelled. */
  readonly released: boolean;
}

/**
 * `data` as a pull-based stream cut into pieces: `sizes` gives each piece's
 * length (a number: all pieces that long; a function: drawn per piece).
 * Nothing is delivered before it is asked for.
 */
export function feed(data: Uint8Array, sizes: number | (() => number) = data.length): FedStream {
  let at = 0;
  let delivered = 0;
  let cancelled: { reason: unknown } | null = null;
  let ended = false;
  const next = typeof sizes === "number" ? () => sizes : sizes;
  const readable = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.length) {
        ended = true;
        return controller.close();
      }
      const n = Math.max(1, next());
      controller.enqueue(data.slice(at, at + n));
      at += n;
      delivered++;
    },
    cancel(reason) {
      cancelled = { reason };
    },
  }, { highWaterMark: 0 });
  return {
    readable,
    get delivered() {
      return delivered;
    },
    get cancelled() {
      return cancelled;
    },
    get released() {
      return ended || cancelled !== null;
    },
  };
}

/** `data` cut at the given offsets. */
export function feedSplit(data: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const bounds = [0, ...cuts, data.length];
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i + 1 >= bounds.length) return controller.close();
      controller.enqueue(data.slice(bounds[i], bounds[i + 1]));
      i++;
    },
  }, { highWaterMark: 0 });
}

/** All of a stream's bytes. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `data` through a CompressionStream. */
export async function compress(
  data: Uint8Array,
  format: CompressionFormat,
): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream(format),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
