/**
 * Joins a Web byte stream (a WebTransport bidirectional stream, or a tunnel
 * stream through web_streams.ts) to a TCP socket, both ways, with half-close
 * and backpressure: the socket pauses while the stream's writer is full, and
 * the next chunk is read from the stream only once the socket took the last.
 */
import type net from "node:net";
import type { ByteStream } from "./web_streams.ts";

/** Byte counts of one bridge: `sent` went to the stream, `received` came from it. */
export interface Counters {
  sent: number;
  received: number;
}

/** Resolves when both directions are done or either side broke. Never rejects. */
export async function bridgeTcpWeb(
  stream: ByteStream,
  socket: net.Socket,
  counters: Counters,
): Promise<void> {
  socket.setNoDelay(true);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let broken = false;
  const breakBoth = (why: string) => {
    if (broken) return;
    broken = true;
    writer.abort(why).catch(() => {});
    reader.cancel(why).catch(() => {});
    socket.destroy();
  };
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", (err) => breakBoth(err.message));

  // TCP -> stream
  const up = new Promise<void>((resolve) => {
    socket.on("data", (chunk: Uint8Array) => {
      counters.sent += chunk.byteLength;
      writer.write(chunk).catch(() => breakBoth("stream write failed"));
      if ((writer.desiredSize ?? 1) <= 0) {
        socket.pause();
        writer.ready.then(() => socket.resume(), () => {});
      }
    });
    socket.once("end", () => {
      writer.close().catch(() => {}).finally(resolve);
    });
    socket.once("close", () => resolve());
  });

  // stream -> TCP
  const down = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        counters.received += value.byteLength;
        if (!socket.write(value)) {
          await new Promise<void>((resolve) => {
            socket.once("drain", resolve);
            socket.once("close", resolve);
          });
        }
      }
      socket.end();
    } catch (err) {
      breakBoth((err as Error).message ?? "stream failed");
    }
  })();

  await Promise.all([up, down]);
  await closed;
}
