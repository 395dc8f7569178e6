/**
 * Message bodies by their framing (RFC 9112 §6.3): a Content-Length, the
 * chunked transfer coding (§7.1), or everything until the stream ends.
 *
 * The body is a pull-based stream (highWaterMark 0): nothing is read from
 * the connection until the consumer asks, so a slow consumer slows the
 * server down instead of filling memory. A body that ends early errors the
 * stream; it never closes quietly with part of the content missing.
 */
import { excerpt, HttpParseError } from "./errors.ts";
import type { ByteReader } from "./reader.ts";

/** How a response body is delimited. */
export type Framing =
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/**
 * A chunk-size line with extensions: chunk extensions are ignored, but a
 * line longer than this is refused before it is buffered.
 */
const CHUNK_LINE_MAX = 4096;
/** 13 hex digits stay below 2^53, so a size is always an exact number. */
const CHUNK_SIZE_DIGITS = 13;

/** What the body stream reports back: the error it failed with, if any. */
export interface BodyState {
  error?: unknown;
}

/**
 * The body as a stream over `input`, which it owns from now on: the stream
 * cancels `input` when it is cancelled, errors, or has read the whole body.
 */
export function bodyStream(
  input: ByteReader,
  framing: Framing,
  maxTrailerBytes: number,
  state: BodyState = {},
): ReadableStream<Uint8Array> {
  const next = framing.kind === "length"
    ? lengthBody(input, framing.length)
    : framing.kind === "chunked"
    ? chunkedBody(input, maxTrailerBytes)
    : () => input.readSome(Infinity);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Uint8Array | null;
      try {
        chunk = await next();
      } catch (err) {
        state.error = err;
        controller.error(err);
        await input.cancel(err);
        return;
      }
      if (chunk !== null) return controller.enqueue(chunk);
      controller.close();
      // The response is complete; anything after it on this stream is not ours.
      await input.cancel();
    },
    cancel(reason) {
      return input.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Exactly `length` bytes; ending sooner is an error. */
function lengthBody(input: ByteReader, length: number): () => Promise<Uint8Array | null> {
  let left = length;
  return async () => {
    if (left === 0) return null;
    const chunk = await input.readSome(left);
    if (chunk === null) {
      throw new HttpParseError(
        "body",
        `stream ended after ${length - left} of ${length} bytes (Content-Length)`,
      );
    }
    left -= chunk.length;
    return chunk;
  };
}

/**
 *     chunked-body = *chunk last-chunk trailer-section CRLF
 *     chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *     last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *
 * Each call returns the next run of chunk-data (never empty) or null after
 * the trailer section, which is read and dropped.
 */
function chunkedBody(input: ByteReader, maxTrailerBytes: number): () => Promise<Uint8Array | null> {
  let left = 0; // chunk-data bytes still to come in the current chunk
  let afterData = false; // the CRLF that closes chunk-data is due
  let done = false;
  const truncated = () => new HttpParseError("body", "stream ended inside the chunked body");
  return async () => {
    for (;;) {
      if (done) return null;
      if (left > 0) {
        const chunk = await input.readSome(left);
        if (chunk === null) throw truncated();
        left -= chunk.length;
        afterData = left === 0;
        return chunk;
      }
      if (afterData) {
        const line = await input.readLine(2, "chunk data", () => overrun());
        if (line === null) throw truncated();
        if (line !== "") throw overrun();
        afterData = false;
      }
      const line = await input.readLine(
        CHUNK_LINE_MAX,
        "chunk size",
        () => new HttpParseError("chunk size", `line longer than ${CHUNK_LINE_MAX} bytes`),
      );
      if (line === null) throw truncated();
      left = chunkSize(line);
      if (left === 0) {
        await readTrailers(input, maxTrailerBytes);
        done = true;
      }
    }
  };
}

function overrun(): HttpParseError {
  return new HttpParseError("chunk data", "longer than its chunk size (no CRLF after it)");
}

/** chunk-size = 1*HEXDIG, then optional whitespace and `;`-extensions, which are ignored. */
function chunkSize(line: string): number {
  const semi = line.indexOf(";");
  const digits = (semi >= 0 ? line.slice(0, semi) : line).replace(/[ \t]+$/, "");
  if (!/^[0-9A-Fa-f]+$/.test(digits)) {
    throw new HttpParseError("chunk size", `not a hex number: ${excerpt(line)}`);
  }
  const significant = digits.replace(/^0+/, "");
  if (significant.length > CHUNK_SIZE_DIGITS) {
    throw new HttpParseError("chunk size", `too large: ${excerpt(digits)}`);
  }
  return significant === "" ? 0 : parseInt(significant, 16);
}

/** trailer-section = *( field-line CRLF ), then CRLF (RFC 9112 §7.1.2); fields are dropped. */
async function readTrailers(input: ByteReader, max: number): Promise<void> {
  const start = input.consumed;
  const tooLarge = () => new HttpParseError("trailers", `larger than ${max} bytes`);
  for (;;) {
    const line = await input.readLine(max - (input.consumed - start), "trailers", tooLarge);
    if (line === null) throw new HttpParseError("body", "stream ended inside the chunked trailers");
    if (line === "") return;
    if (line[0] === " " || line[0] === "\t") {
      throw new HttpParseError(
        "trailers",
        "obsolete line folding is not supported (RFC 9112 §5.2)",
      );
    }
  }
}
