/**
 * Joins a Web byte stream (a QUIC stream, or one sealed for the relay) to a
 * runtime TCP connection (lib/runtime TcpConnLike), both ways, with
 * half-close and backpressure: what tcp_web.ts does for a node:net socket,
 * with fewer hops per chunk.
 *
 * Each direction keeps two buffers and overlaps one read with the write of
 * the chunk before it; a buffer is read into again only once its write
 * resolved. A buffer starts at FIRST_CHUNK and doubles, up to MAX_CHUNK,
 * each time a read fills it (more was waiting): a busy connection moves
 * 256 KiB per call, while one that carries small requests keeps its memory
 * to 4 x 64 KiB. Larger calls measured no better (1 MiB vs 256 KiB: the
 * same CPU per GB on both peers, tests/quic/throughput.ts).
 *
 * Reusing buffers needs `stream.writable` to be done with a chunk once its
 * write resolves: Deno's QUIC streams are (quinn has copied it into its send
 * buffer), and sealed.ts's are (the record is sealed from a copy). A stream
 * that passes chunks on by reference (a bare TransformStream) is not.
 */
import type { TcpConnLike } from "../runtime/mod.ts";
import type { Counters } from "./tcp_web.ts";
import type { ByteStream } from "./web_streams.ts";

/** Bytes per read, each way, at first and at most. */
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 256 * 1024;

/** `buffer` again, or one twice its size (up to MAX_CHUNK) after a read that filled its buffer. */
function grown(buffer: Uint8Array, filled: boolean): Uint8Array {
  if (!filled || buffer.byteLength >= MAX_CHUNK) return buffer;
  return new Uint8Array(buffer.byteLength * 2);
}

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
    const buffers: Uint8Array[] = [new Uint8Array(FIRST_CHUNK), new Uint8Array(FIRST_CHUNK)];
    let writing: Promise<void> = Promise.resolve();
    for (let i = 0;; i ^= 1) {
      const n = await conn.read(buffers[i]);
      await writing; // buffers[i ^ 1] is free again, and the stream had room
      if (n === null) break;
      counters.sent += n;
      writing = writer.write(buffers[i].subarray(0, n));
      writing.catch(() => {}); // seen by the next `await writing`
      buffers[i ^ 1] = grown(buffers[i ^ 1], n === buffers[i].byteLength);
    }
    await writer.close();
  })().catch((err) => breakBoth((err as Error)?.message ?? "stream write failed"));

  // stream -> TCP
  const down = (async () => {
    let next = reader.read(new Uint8Array(FIRST_CHUNK));
    let spare: Uint8Array = new Uint8Array(FIRST_CHUNK);
    for (;;) {
      const { value, done } = await next;
      if (done || !value) break;
      counters.received += value.byteLength;
      // Ask for the next chunk while this one is written.
      next = reader.read(spare);
      next.catch(() => {}); // seen by the next `await next`
      await conn.write(value);
      // A BYOB read's whole buffer is free again (other readers ignore it).
      const whole = new Uint8Array(value.buffer);
      if (reader.byob) spare = grown(whole, value.byteLength === whole.byteLength);
    }
    await conn.closeWrite();
  })().catch((err) => breakBoth((err as Error)?.message ?? "stream failed"));

  await Promise.all([up, down]);
  conn.close();
}

/** What both kinds of reader give: a BYOB reader fills the buffer it is handed. */
interface Reader {
  byob: boolean;
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
      byob: true,
      read: (into) => byob.read(into) as Promise<ReadableStreamReadResult<Uint8Array>>,
      cancel: (reason) => byob.cancel(reason),
    };
  } catch {
    const reader = readable.getReader();
    return { byob: false, read: () => reader.read(), cancel: (reason) => reader.cancel(reason) };
  }
}
