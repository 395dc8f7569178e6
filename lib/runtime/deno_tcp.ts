/**
 * Deno adapter, TCP without node:net: `Deno.connect` read and written in
 * place (types.ts TcpConnLike). The QUIC data plane bridges TCP to QUIC
 * streams, which are Deno's own too; this spares each chunk node:net's
 * socket machinery on the way. Not `conn.readable`/`conn.writable`: both
 * close the whole socket when they end, and a tunnel needs half-close.
 */
import type { TcpConnLike } from "./types.ts";

export async function connectTcp(hostname: string, port: number): Promise<TcpConnLike> {
  const conn = await Deno.connect({ hostname, port, transport: "tcp" });
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
