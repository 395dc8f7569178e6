/**
 * The TCP ends of the QUIC data plane: one QUIC stream per TCP connection,
 * with half-close and backpressure (lib/tunnel/tcp_web.ts).
 *
 *   guest: TCP client -> guest port -> a stream on the chosen direct
 *          connection, or (relay mode) a stream the relay splices to the
 *          host, sealed end to end (lib/quic/sealed.ts)
 *   host:  every such stream -> TCP connect to 127.0.0.1:<shared port>
 */
import { connectTcp, type QuicConnLike } from "../runtime/mod.ts";
import type { TunnelLink } from "../tunnel/mod.ts";
import { bridgeTcpWeb, type Counters } from "../tunnel/tcp_web.ts";
import { bridgeTcpConn } from "../tunnel/tcp_conn.ts";
import type { ByteStream } from "../tunnel/web_streams.ts";
import type { RelayLink } from "../quic/relay_client.ts";
import {
  acceptSealed,
  decodeStreamId,
  encodeStreamId,
  openSealed,
  STREAM_ID_LENGTH,
  streamKeys,
} from "../quic/sealed.ts";
import type { ReplayWindow } from "../quic/replay_window.ts";
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

/** How long a spliced stream's number and opening record may take to arrive at the host. */
const OPEN_TIMEOUT_MS = 10_000;
/** The first byte of every direct stream, guest to host (see directLink). */
const STREAM_OPEN = new Uint8Array([0]);

/** Guest: each TCP connection becomes a new stream on the chosen direct connection. */
export function directLink(conn: QuicConnLike, counters: Counters): TunnelLink {
  let closed = false;
  conn.closed.then(() => closed = true);
  return streamLink(() => closed, async () => {
    const stream = await conn.createBidirectionalStream();
    // A QUIC stream exists for the peer only once a byte is sent on it: say
    // "open" at once, so a server that speaks first (SSH, SMTP) is dialled
    // before the client has anything to say.
    const w = stream.writable.getWriter();
    await w.write(STREAM_OPEN);
    w.releaseLock();
    return stream;
  }, counters);
}

/**
 * A link that carries each TCP connection on a stream from `open`: a
 * node:net socket (serveGuestPort) or a runtime connection (serveGuestConns).
 */
function streamLink(
  isClosed: () => boolean,
  open: () => Promise<ByteStream>,
  counters: Counters,
): TunnelLink {
  return {
    get closed() {
      return isClosed();
    },
    async bridge(socket) {
      const stream = await open().catch(() => null);
      if (!stream) return void socket.destroy();
      const done = bridgeTcpWeb(stream, socket, counters);
      socket.resume();
      await done;
    },
    async bridgeConn(conn) {
      const stream = await open().catch(() => null);
      if (!stream) return conn.close();
      await bridgeTcpConn(stream, conn, counters);
    },
  };
}

/**
 * Guest in relay mode: each TCP connection becomes a stream the relay splices
 * to the host, numbered and sealed with keys derived from `sealKey` (the
 * PAKE's, so the relay only forwards ciphertext).
 */
export function relayLink(
  relay: RelayLink,
  token: Uint8Array,
  sealKey: () => Promise<Uint8Array>,
  counters: Counters,
): TunnelLink {
  let closed = false;
  relay.closed.then(() => closed = true);
  let next = 0;
  return streamLink(() => closed, async () => {
    const base = await sealKey();
    const id = next++;
    const keys = await streamKeys(base, id, "guest");
    const stream = await relay.open(token);
    const writer = stream.writable.getWriter();
    await writer.write(encodeStreamId(id));
    writer.releaseLock();
    return openSealed(stream, keys);
  }, counters);
}

/** Host: a direct stream from the guest; after its "open" byte, dial the shared port. */
export async function serveStream(
  stream: ByteStream,
  targetPort: number,
  counters: Counters,
): Promise<void> {
  const r = new PrefixReader(stream.readable);
  try {
    const open = await withTimeout(r.read(STREAM_OPEN.length), OPEN_TIMEOUT_MS, "stream open");
    if (!open || open[0] !== STREAM_OPEN[0]) throw new Error("not a tunnel stream");
  } catch {
    r.rest().cancel("refused").catch(() => {});
    stream.writable.abort("refused").catch(() => {});
    return;
  }
  await dial({ readable: r.rest(), writable: stream.writable }, targetPort, counters);
}

/** Join a stream to a new connection to the shared port on 127.0.0.1. */
async function dial(stream: ByteStream, targetPort: number, counters: Counters): Promise<void> {
  let conn;
  try {
    conn = await connectTcp("127.0.0.1", targetPort);
  } catch (err) {
    const why = (err as Error).message ?? "connect failed";
    stream.readable.cancel(why).catch(() => {});
    stream.writable.abort(why).catch(() => {});
    return;
  }
  await bridgeTcpConn(stream, conn, counters);
}

/**
 * Host: a stream the relay spliced from the guest. Its number must be new
 * (`window`) and its opening record must verify before the shared port is
 * dialled; anything else is reset and never reaches the app.
 */
export async function serveSpliced(
  stream: ByteStream,
  sealKey: Uint8Array,
  window: ReplayWindow,
  targetPort: number,
  counters: Counters,
): Promise<void> {
  const r = new PrefixReader(stream.readable);
  let sealed: ByteStream | null = null;
  try {
    const idBytes = await withTimeout(r.read(STREAM_ID_LENGTH), OPEN_TIMEOUT_MS, "stream number");
    if (!idBytes) throw new Error("no stream number");
    const id = decodeStreamId(idBytes);
    const keys = await streamKeys(sealKey, id, "host");
    sealed = await acceptSealed(
      { readable: r.rest(), writable: stream.writable },
      keys,
      OPEN_TIMEOUT_MS,
    );
    if (!window.take(id)) throw new Error(`stream ${id} was replayed`);
    dial(sealed, targetPort, counters); // the opening record already made it visible
  } catch {
    // Reset both ways, through whatever holds the stream's ends by now.
    const ends = sealed ?? stream;
    if (!sealed) r.cancel("refused");
    else sealed.readable.cancel("refused").catch(() => {});
    ends.writable.abort("refused").catch(() => {});
  }
}
