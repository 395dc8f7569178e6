/**
 * Reading an HTTP/1.1 response (RFC 9112) from a byte stream, incrementally.
 *
 *     status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF
 *     *( field-line CRLF )
 *     CRLF
 *     [ message-body ]
 *
 * Interim 1xx responses (100 Continue, 103 Early Hints) are skipped; 101
 * Switching Protocols is refused, since a page cannot hand an upgraded
 * connection to the app (no WebSockets through this path). The headers
 * returned are the end-to-end ones, ready for `new Response(body, init)`:
 * hop-by-hop fields and framing are consumed here.
 */
import { type BodyState, bodyStream, type Framing } from "./body.ts";
import { excerpt, HttpParseError } from "./errors.ts";
import { ByteReader } from "./reader.ts";
import { connectionOptions, HOP_BY_HOP, isToken, listValues } from "./syntax.ts";

export interface ReadResponseOptions {
  /** The request's method; a response to HEAD has no body (RFC 9112 §6.3). */
  method: string;
  /**
   * Most bytes of head read before the final status line's empty line,
   * interim 1xx heads included; chunked trailers get the same allowance.
   * Default 64 KiB.
   */
  maxHeadBytes?: number;
  /**
   * Decode a gzip, deflate (or, where `DecompressionStream` takes "brotli",
   * br) Content-Encoding and drop Content-Encoding and Content-Length from the
   * headers. A Response built in a Service Worker is handed to the page as
   * is, so nobody else would decode it. Other codings are left alone.
   * Default false.
   */
  decode?: boolean;
  /** Aborting cancels the stream; pending reads then reject with the signal's reason. */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  /** End-to-end fields in order, names as the server spelled them. */
  headers: [string, string][];
  /** Null when the response cannot have content (HEAD, 204, 304). */
  body: ReadableStream<Uint8Array> | null;
}

const DEFAULT_MAX_HEAD = 64 * 1024;

/**
 * Read one response from `readable`, which this takes over: it is cancelled
 * once the body has been read, cancelled or has failed. Rejects with
 * {@link HttpParseError} for a malformed head; the body stream errors with one
 * for a malformed or truncated body.
 */
export async function readResponse(
  readable: ReadableStream<Uint8Array>,
  opts: ReadResponseOptions,
): Promise<HttpResponse> {
  const maxHead = opts.maxHeadBytes ?? DEFAULT_MAX_HEAD;
  if (!Number.isSafeInteger(maxHead) || maxHead < 1) {
    throw new RangeError("maxHeadBytes must be a positive integer");
  }
  const input = new ByteReader(readable, opts.signal);
  try {
    let head = await readHead(input, maxHead);
    while (head.status < 200) {
      if (head.status === 101) {
        throw new HttpParseError(
          "status",
          "101 Switching Protocols: WebSockets and other upgrades cannot be proxied",
        );
      }
      head = await readHead(input, maxHead);
    }
    let headers = endToEnd(head.headers);
    const framing = bodyFraming(opts.method, head.status, head.headers);
    // Transfer-Encoding overrode Content-Length, which is wrong then (RFC 9112 §6.3 item 3).
    if (framing?.kind === "chunked") {
      headers = headers.filter(([n]) => n.toLowerCase() !== "content-length");
    }
    let body: ReadableStream<Uint8Array> | null = null;
    const state: BodyState = {};
    if (framing === null) await input.cancel();
    else body = bodyStream(input, framing, maxHead, state);

    const codings = opts.decode ? decodableCodings(headers) : null;
    if (codings !== null) {
      headers = headers.filter(([n]) => !/^content-(encoding|length)$/i.test(n));
      if (body !== null) body = decodeBody(body, codings, state);
    }
    return { status: head.status, statusText: head.statusText, headers, body };
  } catch (err) {
    await input.cancel(err);
    throw err;
  }
}

interface Head {
  status: number;
  statusText: string;
  headers: [string, string][];
}

/** reason-phrase = *( HTAB / SP / VCHAR / obs-text ): what `new Response()` accepts as statusText. */
// deno-lint-ignore no-control-regex
const BAD_REASON = /[\x00-\x08\x0a-\x1f\x7f]/;
/** A field value may not hold NUL or a bare CR (RFC 9110 §5.5, RFC 9112 §2.2). */
const BAD_VALUE = /[\0\r]/;

/** One status line and header section. `maxHead` bounds all heads read by `input` so far. */
async function readHead(input: ByteReader, maxHead: number): Promise<Head> {
  const tooLarge = () => new HttpParseError("head", `too large (over ${maxHead} bytes)`);
  const readLine = (field: string) => input.readLine(maxHead - input.consumed, field, tooLarge);

  const statusLine = await readLine("status line");
  if (statusLine === null) {
    throw new HttpParseError("status line", "stream ended before a response");
  }
  // Only HTTP/1.x: an HTTP/2 preface or an HTTP/0.9 body would parse as nonsense.
  const m = /^HTTP\/1\.[0-9] ([0-9]{3})(?: (.*))?$/s.exec(statusLine);
  if (m === null) throw new HttpParseError("status line", `malformed: ${excerpt(statusLine)}`);
  const status = Number(m[1]);
  const statusText = m[2] ?? "";
  // RFC 9110 §15: status codes are 100..599; fetch refuses the rest anyway.
  if (status < 100 || status > 599) {
    throw new HttpParseError("status line", `status ${m[1]} out of range`);
  }
  if (BAD_REASON.test(statusText)) {
    throw new HttpParseError("status line", "reason phrase contains a control character");
  }

  const headers: [string, string][] = [];
  for (;;) {
    const line = await readLine("header");
    if (line === null) throw new HttpParseError("header", "stream ended inside the head");
    if (line === "") return { status, statusText, headers };
    if (line[0] === " " || line[0] === "\t") {
      throw new HttpParseError("header", "obsolete line folding is not supported (RFC 9112 §5.2)");
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    // No whitespace before the colon either (RFC 9112 §5.1): isToken refuses it.
    if (!isToken(name)) {
      throw new HttpParseError("header", `malformed field line: ${excerpt(line)}`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) throw new HttpParseError(name, "value contains NUL or CR");
    headers.push([name, value]);
  }
}

/** How the body is delimited (RFC 9112 §6.3), or null when there is none. */
function bodyFraming(method: string, status: number, headers: [string, string][]): Framing | null {
  if (method === "HEAD" || status === 204 || status === 304) return null;
  const te = listValues(headers, "transfer-encoding");
  if (te.length > 0) {
    // Transfer-Encoding overrides Content-Length (§6.3 item 3). Only chunked,
    // once, is supported: anything else would reach the page still encoded.
    if (te.length !== 1 || te[0] !== "chunked") {
      throw new HttpParseError("Transfer-Encoding", `unsupported: ${excerpt(te.join(", "))}`);
    }
    return { kind: "chunked" };
  }
  const lengths = listValues(headers, "content-length");
  if (lengths.length === 0) return { kind: "close" };
  // A list of identical values is one value (§6.3 item 5); different ones are an attack or a bug.
  for (const v of lengths) {
    if (v !== lengths[0]) {
      throw new HttpParseError(
        "Content-Length",
        `conflicting values ${excerpt(lengths[0])} and ${excerpt(v)}`,
      );
    }
  }
  const length = /^[0-9]{1,15}$/.test(lengths[0]) ? Number(lengths[0]) : NaN;
  if (Number.isNaN(length)) {
    throw new HttpParseError("Content-Length", `malformed: ${excerpt(lengths[0])}`);
  }
  return { kind: "length", length };
}

/** The fields without hop-by-hop ones (RFC 9110 §7.6.1). */
function endToEnd(headers: [string, string][]): [string, string][] {
  const listed = connectionOptions(headers);
  return headers.filter(([name]) => {
    const lower = name.toLowerCase();
    return !HOP_BY_HOP.has(lower) && !listed.has(lower);
  });
}

/** DecompressionStream formats for the codings, or null if there are none or one is not supported. */
function decodableCodings(headers: [string, string][]): CompressionFormat[] | null {
  const codings = listValues(headers, "content-encoding").filter((c) => c !== "identity");
  if (codings.length === 0) return null;
  const formats: CompressionFormat[] = [];
  for (const coding of codings) {
    const format = FORMATS[coding] ?? (coding === "br" && brotliSupported() ? "brotli" : null);
    if (format === null) return null;
    formats.push(format as CompressionFormat);
  }
  return formats;
}

/** RFC 9110 §8.4.1: "deflate" is the zlib format, which is what DecompressionStream calls deflate. */
const FORMATS: Record<string, CompressionFormat> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
};

let brotli: boolean | undefined;
/** Chromium and Deno take "brotli" in newer versions only. */
function brotliSupported(): boolean {
  if (brotli === undefined) {
    try {
      new DecompressionStream("brotli" as CompressionFormat);
      brotli = true;
    } catch {
      brotli = false;
    }
  }
  return brotli;
}

/**
 * The body with its content codings undone, last applied first (RFC 9110
 * §8.4). Corrupt compressed data errors the stream with an HttpParseError;
 * the body's own errors pass through as they are.
 */
function decodeBody(
  body: ReadableStream<Uint8Array>,
  formats: CompressionFormat[],
  state: BodyState,
): ReadableStream<Uint8Array> {
  let decoded = body;
  for (const format of formats.toReversed()) {
    // Its writable takes any BufferSource, which TypeScript cannot see takes Uint8Array.
    const stage = new DecompressionStream(format) as ReadableWritablePair<Uint8Array, Uint8Array>;
    decoded = decoded.pipeThrough(stage);
  }
  const reader = decoded.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return controller.close();
          if (value.length > 0) return controller.enqueue(value);
        }
      } catch (err) {
        if (err === state.error) throw err;
        const detail = err instanceof Error ? err.message : String(err);
        throw new HttpParseError(
          "Content-Encoding",
          `cannot decode ${formats.join(", ")}: ${detail}`,
        );
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
