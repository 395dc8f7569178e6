/**
 * One HTTP/1.1 exchange over a fresh byte stream: write the request, read the
 * response. The stream reaches the app's TCP socket byte for byte, and the
 * request says `Connection: close`, so nothing else shares it.
 *
 * The request is framed by its Content-Length, so our side is not closed
 * after it (no half-close): hyper (Deno.serve, axum) drops a connection whose
 * client shuts its write side before the response is ready, and Go's
 * net/http cancels the request's context. Our side is closed once the
 * response is done with, which is what browsers and curl do too.
 */
import { encodeRequestHead } from "./request.ts";
import { type HttpResponse, readResponse, type ReadResponseOptions } from "./response.ts";

/** A bidirectional byte stream, as a tunnel stream or `WebTransport.createBidirectionalStream()` gives. */
export interface ByteStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

export interface HttpRequest {
  /** A token, e.g. "GET". */
  method: string;
  /** Path and query, starting with "/". */
  target: string;
  /** Must include Host (see HeaderRewriter.request). Framing and hop-by-hop fields are ours. */
  headers: [string, string][];
  /** Null for no body; an empty array still sends `Content-Length: 0`. */
  body: Uint8Array | null;
}

/** readResponse's options; the method comes from the request. */
export type HttpRequestOptions = Omit<ReadResponseOptions, "method">;

/** Bodies are written in slices of this size, so back-pressure acts within a large body. */
const WRITE_SLICE = 64 * 1024;

/**
 * Open a stream, send `req` and read the response. The request head is
 * checked before the stream is opened (throws HttpEncodeError). The body is
 * written while the response is read: a server that echoes as it reads would
 * otherwise stall against us once the buffers between are full. When the
 * response is over (read, cancelled or failed) our side is closed, or
 * aborted if the body was still being written: a server that answered early
 * does not want the rest.
 */
export async function httpRequest(
  open: () => Promise<ByteStream>,
  req: HttpRequest,
  opts: HttpRequestOptions = {},
): Promise<HttpResponse> {
  const head = encodeRequestHead({
    method: req.method,
    target: req.target,
    headers: req.headers,
    bodyLength: req.body?.length ?? null,
  });
  const stream = await open();
  const writer = stream.writable.getWriter();
  let sent = false;
  let over = false;
  send(writer, head, req.body, opts.signal).then(() => {
    sent = true;
    if (over) writer.close().catch(() => {});
  }, () => {
    // The response (or its absence) says what went wrong.
  });
  const finish = () => {
    if (over) return;
    over = true;
    if (sent) writer.close().catch(() => {});
    else writer.abort(new Error("response over before the request was sent")).catch(() => {});
  };
  const readable = onEnd(stream.readable, finish);
  return await readResponse(readable, { ...opts, method: req.method });
}

async function send(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  head: Uint8Array,
  body: Uint8Array | null,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (body !== null && body.length > 0 && body.length <= WRITE_SLICE) {
    // Small requests go out as one write (one tunnel message, one TCP segment).
    const both = new Uint8Array(head.length + body.length);
    both.set(head);
    both.set(body, head.length);
    return await writer.write(both);
  }
  await writer.write(head);
  for (let at = 0; body !== null && at < body.length; at += WRITE_SLICE) {
    signal?.throwIfAborted();
    await writer.write(body.subarray(at, at + WRITE_SLICE));
  }
}

/** `readable` as it is, calling `end` once it has ended, failed or been cancelled. */
function onEnd(readable: ReadableStream<Uint8Array>, end: () => void): ReadableStream<Uint8Array> {
  const reader = readable.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (err) {
        end();
        throw err;
      }
      if (!result.done) return controller.enqueue(result.value);
      end();
      controller.close();
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
