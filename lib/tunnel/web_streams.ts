/**
 * A tunnel stream as a pair of Web streams, the shape WebTransport streams
 * already have, so code above (the browser guest's HTTP client, the host's
 * WebTransport bridge) handles both transports alike.
 *
 * Backpressure carries through: bytes are consumed (credit goes back to the
 * peer, lib/tunnel/mux.ts) only once the reader has room for them, and a write
 * resolves only when the stream has taken the chunk.
 */
import type { TunnelStream } from "./mux.ts";

/** A bidirectional byte stream (what `WebTransport.createBidirectionalStream()` gives). */
export interface ByteStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** How many received bytes may wait in the readable side before credit stops. */
const READ_BUFFER = 256 * 1024;

export function tunnelStreamToWeb(stream: TunnelStream): ByteStream {
  let owed = 0; // delivered to the readable's queue, not yet credited back
  let drained: (() => void) | null = null;
  let failed: Error | null = null;
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      stream.ondata = (chunk) => {
        controller.enqueue(chunk);
        owed += chunk.byteLength;
        if ((controller.desiredSize ?? 0) > 0) credit();
      };
      stream.onend = () => {
        credit();
        try {
          controller.close();
        } catch { /* cancelled already */ }
      };
      stream.onclose = (error) => {
        if (error) {
          failed = error;
          try {
            controller.error(error);
          } catch { /* closed already */ }
        }
        drained?.();
      };
    },
    pull() {
      credit();
    },
    cancel(reason) {
      stream.reset(reason instanceof Error ? reason.message : "reader cancelled");
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: READ_BUFFER }));
  const credit = () => {
    if (owed === 0 || stream.closed) return;
    const n = owed;
    owed = 0;
    stream.consume(n);
  };
  stream.ondrain = () => drained?.();
  const writable = new WritableStream<Uint8Array>({
    write(chunk, controller) {
      if (failed || stream.closed) throw failed ?? new Error("stream closed");
      // The stream keeps a reference until sent: hand it a private copy.
      if (stream.write(chunk.slice())) return;
      return new Promise<void>((resolve, reject) => {
        drained = () => {
          drained = null;
          resolve();
        };
        // abort() waits for a write in progress: let it end this one.
        controller.signal.addEventListener("abort", () => {
          stream.reset("writer aborted");
          reject(controller.signal.reason);
        }, { once: true });
      });
    },
    close() {
      stream.end();
    },
    abort(reason) {
      stream.reset(reason instanceof Error ? reason.message : "writer aborted");
    },
  });
  return { readable, writable };
}
