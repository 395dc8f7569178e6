/**
 * The TCP ends of the QUIC data plane: one QUIC stream per TCP connection,
 * with half-close and backpressure (lib/tunnel/tcp_web.ts).
 *
 *   guest: TCP client -> guest port -> a stream on the chosen direct
 *          connection, or (relay mode) a stream the relay splices to the
 *          host, sealed end to end (lib/quic/sealed.ts)
 *   host:  every such stream -> TCP connect to 127.0.0.1:<shared port>
 */
import net from "node:net";
import type { QuicConnLike } from "../runtime/mod.ts";
import type { TunnelLink } from "../tunnel/mod.ts";
import { bridgeTcpWeb, type Counters } from "../tunnel/tcp_web.ts";
import type { ByteStream } from "../tunnel/web_streams.ts";
import type { RelayLink } from "../quic/relay_client.ts";
import { newSalt, SALT_LENGTH, sealStream, streamKeys } from "../quic/sealed.ts";
import { PrefixReader, withTimeout } from "../quic/stream_reader.ts";

/** Bytes moved over one guest's QUIC link, as `tun p2p status` shows them. */
export class LinkCounters implements Counters {
  /** Towards the other peer. */
  sent = 0;
  /** From the other peer. */
  received = 0;
  get bytesSent(): number {
    return this.sent;
  }
  get bytesReceived(): number {
    return this.received;
  }
}

/** How long a spliced stream's salt may take to arrive at the host. */
const SALT_TIMEOUT_MS = 10_000;

/** Guest: each TCP connection becomes a new stream on the chosen direct connection. */
export function directLink(conn: QuicConnLike, counters: Counters): TunnelLink {
  let closed = false;
  conn.closed.then(() => closed = true);
  return {
    get closed() {
      return closed;
    },
    async bridge(socket) {
      let stream: ByteStream;
      try {
        stream = await conn.createBidirectionalStream();
      } catch {
        socket.destroy();
        return;
      }
      const done = bridgeTcpWeb(stream, socket, counters);
      socket.resume();
      await done;
    },
  };
}

/**
 * Guest in relay mode: each TCP connection becomes a stream the relay splices
 * to the host, opened with a fresh salt and sealed with keys derived from
 * `sealKey` (the PAKE's, so the relay only forwards ciphertext).
 */
export function relayLink(
  relay: RelayLink,
  token: Uint8Array,
  sealKey: () => Promise<Uint8Array>,
  counters: Counters,
): TunnelLink {
  let closed = false;
  relay.closed.then(() => closed = true);
  return {
    get closed() {
      return closed;
    },
    async bridge(socket) {
      let sealed: ByteStream;
      try {
        const base = await sealKey();
        const stream = await relay.open(token);
        const salt = newSalt();
        const writer = stream.writable.getWriter();
        await writer.write(salt);
        writer.releaseLock();
        sealed = sealStream(stream, await streamKeys(base, salt, "guest"));
      } catch {
        socket.destroy();
        return;
      }
      const done = bridgeTcpWeb(sealed, socket, counters);
      socket.resume();
      await done;
    },
  };
}

/** Host: dial the shared port on loopback and join it to `stream`. */
export function serveStream(stream: ByteStream, targetPort: number, counters: Counters): void {
  const socket = net.connect({ host: "127.0.0.1", port: targetPort, allowHalfOpen: true });
  bridgeTcpWeb(stream, socket, counters);
}

/** Host: a stream the relay spliced from the guest: read its salt, unseal, serve. */
export async function serveSpliced(
  stream: ByteStream,
  sealKey: Uint8Array,
  targetPort: number,
  counters: Counters,
): Promise<void> {
  const r = new PrefixReader(stream.readable);
  let salt: Uint8Array | null = null;
  try {
    salt = await withTimeout(r.read(SALT_LENGTH), SALT_TIMEOUT_MS, "stream salt");
  } catch { /* below */ }
  if (!salt) {
    r.cancel("no salt");
    stream.writable.abort("no salt").catch(() => {});
    return;
  }
  const keys = await streamKeys(sealKey, salt, "host");
  serveStream(
    sealStream({ readable: r.rest(), writable: stream.writable }, keys),
    targetPort,
    counters,
  );
}
