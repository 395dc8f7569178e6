/**
 * Joins a Web byte stream (a QUIC stream, or one sealed for the relay) to a
 * runtime TCP connection (lib/runtime TcpConnLike), both ways, with
 * half-close and backpressure: what tcp_web.ts does for a node:net socket,
 * with fewer hops per chunk.
 *
 * Each direction keeps two buffers and overlaps one read with the write of
 * the chunk before it; a buffer is read into again only once its write
 * resolved. Reads of up to CHUNK bytes: on a fast path the kernel (TCP) and
 * the QUIC stack hold more than that, so each read, and each write it feeds,
 * moves as much as a call can.
 *
 * So `stream.writable` must be done with a chunk once its write resolves:
 * Deno's QUIC streams are (quinn has copied it into its send buffer), and
 * sealed.ts's are (the record is sealed from a copy). A stream that passes
 * chunks on by reference (a bare TransformStream) is not.
 */
import type { TcpConnLike } from "../runtime/mod.ts";
import type { Counters } from "./tcp_web.ts";
import type { ByteStream } from "./web_streams.ts";

/** Bytes per read, each way. */
const CHUNK = 256 * 1024;

/** Resolves when both directions are done or either side broke. Never rejects. */
export async function bridgeTcpConn(
  stream: ByteStream,
  conn: TcpConnLike,
  counters: Counters,
): Promise<void> {
  const writer = stream.writable.getWriter();
  const reader = byobReader(stream.readable);
  let broken = false;
  const breakBoth = (why: string) => {
    if (broken) return;
    broken = true;
    writer.abort(why).catch(() => {});
    reader.cancel(why).catch(() => {});
    conn.close();
  };

  // TCP -> stream
  const up = (async () => {
    const buffers = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
    let writing: Promise<void> = Promise.resolve();
    for (let i = 0;; i ^= 1) {
      const n = await conn.read(buffers[i]);
      await writing; // buffers[i ^ 1] is free again, and the stream had room
      if (n === null) break;
      counters.sent += n;
      writing = writer.write(buffers[i].subarray(0, n));
      writing.catch(() => {}); // seen by the next `await writing`
    }
    await writer.close();
  })().catch((err) => breakBoth((err as Error)?.message ?? "stream write failed"));

  // stream -> TCP
  const down = (async () => {
    let next = reader.read(new Uint8Array(CHUNK));
    let spare: Uint8Array = new Uint8Array(CHUNK);
    for (;;) {
      const { value, done } = await next;
      if (done || !value) break;
      counters.received += value.byteLength;
      // Ask for the next chunk while this one is written.
      next = reader.read(spare);
      next.catch(() => {}); // seen by the next `await next`
      await conn.write(value);
      spare = new Uint8Array(value.buffer); // a BYOB read's whole buffer, free again
    }
    await conn.closeWrite();
  })().catch((err) => breakBoth((err as Error)?.message ?? "stream failed"));

  await Promise.all([up, down]);
  conn.close();
}

/** What both kinds of reader give: a BYOB reader fills the buffer it is handed. */
interface Reader {
  read(into: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * A BYOB reader where the stream is a byte stream (Deno's QUIC streams are):
 * the stack copies straight into our buffer, as much as it holds. Other
 * streams hand out their own chunks.
 */
function byobReader(readable: ReadableStream<Uint8Array>): Reader {
  try {
    const byob = readable.getReader({ mode: "byob" });
    return {
      read: (into) => byob.read(into) as Promise<ReadableStreamReadResult<Uint8Array>>,
      cancel: (reason) => byob.cancel(reason),
    };
  } catch {
    const reader = readable.getReader();
    return { read: () => reader.read(), cancel: (reason) => reader.cancel(reason) };
  }
}
