/**
 * Deno adapter, TCP without node:net: `Deno.connect`/`Deno.listen` read and
 * written in place (types.ts TcpConnLike). The QUIC data plane bridges TCP
 * to QUIC streams, which are Deno's own too; this spares each chunk
 * node:net's socket machinery on the way. Not `conn.readable`/`writable`:
 * both close the whole socket when they end, and a tunnel needs half-close.
 */
import type { TcpConnLike, TcpListenerLike } from "./types.ts";

export async function connectTcp(hostname: string, port: number): Promise<TcpConnLike> {
  return wrap(await Deno.connect({ hostname, port, transport: "tcp" }));
}

/** Wait after a failed accept (out of file descriptors, say) before the next. */
const ACCEPT_RETRY_MS = 100;

export function listenTcp(hostname: string, port: number): Promise<TcpListenerLike> {
  try {
    const listener = Deno.listen({ hostname, port, transport: "tcp" });
    const addr = listener.addr as Deno.NetAddr;
    let closed = false;
    return Promise.resolve({
      hostname: addr.hostname,
      port: addr.port,
      async *accept() {
        while (!closed) {
          let conn: Deno.TcpConn;
          try {
            conn = await listener.accept();
          } catch {
            // Closed, or a failure that passes (EMFILE): keep listening, as node:net does.
            if (!closed) await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
            continue;
          }
          yield wrap(conn);
        }
      },
      close() {
        closed = true;
        try {
          listener.close();
        } catch { /* closed already */ }
      },
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

function wrap(conn: Deno.TcpConn): TcpConnLike {
  conn.setNoDelay(true);
  let closed = false;
  return {
    read: (into) => conn.read(into),
    async write(chunk) {
      for (let off = 0; off < chunk.byteLength;) off += await conn.write(chunk.subarray(off));
    },
    closeWrite: () => conn.closeWrite(),
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* closed already */ }
    },
  };
}
