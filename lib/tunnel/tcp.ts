/**
 * TCP ends of the tunnel, over `node:net` (the same code runs on Deno and Bun).
 *
 *   guest: TCP client -> serveGuestPort -> mux.openStream() ==channel==>
 *   host:  mux.onstream -> serveHostStreams -> TCP connect to 127.0.0.1:<shared port>
 *
 * Every socket is created with `allowHalfOpen: true`, so a TCP FIN travels as a
 * tunnel FIN and the other direction keeps flowing.
 */
import net from "node:net";
import type { TcpConnLike } from "../runtime/mod.ts";
import { MAX_DATA_PAYLOAD } from "./frame.ts";
import type { Mux, TunnelStream } from "./mux.ts";

/**
 * Pump bytes both ways between `stream` and a connected `socket` until both
 * directions are done or either side breaks. Never rejects.
 *
 * - TCP -> tunnel: the socket is paused while the stream has bytes waiting for
 *   credit or channel space, and resumed on `ondrain`.
 * - tunnel -> TCP: each chunk is consumed (credit goes back to the peer) only
 *   when the socket has flushed it, so a slow TCP reader holds the peer to one
 *   window.
 * - TCP end <-> FIN; a socket error or early close resets the stream; a stream
 *   reset (or the mux closing) resets the socket.
 *
 * The socket must have been created with `allowHalfOpen: true`.
 */
export function bridgeTcp(
  stream: TunnelStream,
  socket: net.Socket,
  reads?: ReusedReads,
): Promise<void> {
  // Frames already carry the sender's segmentation; Nagle would only hold small
  // writes (an HTTP response after its headers) back for an ACK.
  socket.setNoDelay(true);
  return new Promise((resolve) => {
    let socketClosed = false;
    let streamClosed = false;
    let readEnded = false; // the TCP peer sent FIN
    let writeEnded = false; // we sent FIN to the TCP peer
    const settle = () => {
      if (socketClosed && streamClosed) resolve();
    };

    if (reads) {
      // The chunk is a view of the socket's one read buffer: returning false
      // pauses the socket until `ondrain`, when the stream holds none of it.
      reads.handler = (chunk) => stream.write(chunk);
    } else {
      socket.on("data", (chunk: Uint8Array) => {
        if (!stream.write(chunk)) socket.pause();
      });
    }
    stream.ondrain = () => socket.resume();
    socket.on("end", () => {
      readEnded = true;
      stream.end();
    });

    stream.ondata = (chunk) => {
      socket.write(chunk, () => stream.consume(chunk.byteLength));
    };
    stream.onend = () => {
      writeEnded = true;
      socket.end();
    };

    stream.onclose = (error) => {
      streamClosed = true;
      if (error && !socket.destroyed) socket.resetAndDestroy();
      settle();
    };
    socket.on("error", (err: NodeJS.ErrnoException) => stream.reset(socketErrorReason(err)));
    socket.on("close", (hadError: boolean) => {
      socketClosed = true;
      // After FIN both ways the stream may still be sending queued data and its
      // FIN; any other close must not leave the peer waiting.
      if (hadError || !readEnded || !writeEnded) stream.reset("connection closed");
      settle();
    });

    if (stream.closed) {
      streamClosed = true;
      socket.destroy();
    }
  });
}

/** Bytes read at once into a socket's own buffer: up to one DATA frame's worth. */
const READ_BUFFER = MAX_DATA_PAYLOAD;

/**
 * Reads into one buffer per socket (node:net's `onread`) rather than a new one
 * per read: at tens of MB/s those are garbage the JS engine collects only every
 * ~64 MB, which shows as RSS. Give `onread` to `net.connect` and the object to
 * {@link bridgeTcp}.
 */
export interface ReusedReads {
  readonly onread: { buffer: Uint8Array; callback: (bytes: number, buffer: Uint8Array) => boolean };
  /** Takes each chunk; false pauses the socket (the chunk is still in use). */
  handler: ((chunk: Uint8Array) => boolean) | null;
}

export function reusedReads(): ReusedReads {
  const reads: ReusedReads = {
    onread: {
      buffer: new Uint8Array(READ_BUFFER),
      callback: (bytes, buffer) => reads.handler?.(buffer.subarray(0, bytes)) ?? false,
    },
    handler: null,
  };
  return reads;
}

/**
 * What a guest port sends its TCP connections through: a {@link Mux} (the
 * DataChannel data plane), or one stream per connection of a QUIC
 * connection (lib/peer/quic_link.ts).
 */
export interface TunnelLink {
  /** True once nothing more can go through. */
  readonly closed: boolean;
  /**
   * Carry `socket` (accepted paused, with `allowHalfOpen`) to the host and
   * resume it once its bytes have somewhere to go. Settles when the
   * connection is done; never rejects (a failure destroys the socket).
   */
  bridge(socket: net.Socket): Promise<void>;
  /**
   * The same for a connection accepted through the runtime's own TCP
   * (guest_conns.ts), where the link offers it.
   */
  bridgeConn?(conn: TcpConnLike): Promise<void>;
}

/** A mux as a {@link TunnelLink}: one tunnel stream per socket. */
export function muxLink(mux: Mux): TunnelLink {
  return {
    get closed() {
      return mux.closed;
    },
    bridge(socket) {
      const done = bridgeTcp(mux.openStream(), socket);
      socket.resume();
      return done;
    },
  };
}

function asLink(link: Mux | TunnelLink): TunnelLink {
  return "openStream" in link ? muxLink(link) : link;
}

/** Options for {@link serveGuestPort}. */
export interface GuestPortOptions {
  /** Address to listen on. Default "127.0.0.1". */
  hostname?: string;
  /** Port to listen on; 0 picks a free one (read it back from `GuestPort.port`). Default 0. */
  port?: number;
  /**
   * How long an accepted connection may wait for a mux to be attached before it
   * is closed. Default 30 000 ms.
   */
  pendingTimeoutMs?: number;
}

/** A listening guest port. */
export interface GuestPort {
  readonly hostname: string;
  readonly port: number;
  /**
   * Send new connections, and those waiting, through `link` (a mux or another
   * {@link TunnelLink}). Call again with a replacement (a new path):
   * connections already bridged stay on theirs.
   */
  attach(link: Mux | TunnelLink): void;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Listen on a local TCP port; every accepted connection becomes a stream of the
 * attached mux (or other link). The port may be opened before the peer
 * connection exists: pass a promise of the link (or null and call `attach`
 * later). Connections accepted while no open link is attached wait, unread,
 * and go through once one is; they are closed after `pendingTimeoutMs`, or at
 * once if the promise rejects. A link that closes is detached: new
 * connections wait for the next `attach`.
 */
export async function serveGuestPort(
  mux: Mux | TunnelLink | Promise<Mux | TunnelLink> | null,
  options: GuestPortOptions = {},
): Promise<GuestPort> {
  const hostname = options.hostname ?? "127.0.0.1";
  const pendingTimeoutMs = options.pendingTimeoutMs ?? 30_000;
  if (!Number.isInteger(pendingTimeoutMs) || pendingTimeoutMs < 1) {
    throw new RangeError(`pendingTimeoutMs must be a positive integer, got ${pendingTimeoutMs}`);
  }

  let current: TunnelLink | null = null;
  let closing = false;
  const sockets = new Set<net.Socket>();
  const waiting = new Map<net.Socket, ReturnType<typeof setTimeout>>();
  const bridges = new Set<Promise<void>>();

  const bridge = (socket: net.Socket): boolean => {
    if (!current || current.closed) return false;
    const done = current.bridge(socket);
    bridges.add(done);
    done.finally(() => bridges.delete(done));
    return true;
  };
  const wait = (socket: net.Socket) => {
    waiting.set(socket, setTimeout(() => socket.destroy(), pendingTimeoutMs));
  };
  const attach = (next: Mux | TunnelLink) => {
    if (closing) return;
    current = asLink(next);
    for (const [socket, timer] of waiting) {
      clearTimeout(timer);
      waiting.delete(socket);
      if (!socket.destroyed && !bridge(socket)) wait(socket);
    }
  };

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {}); // errors while waiting; the bridge handles its own
    socket.on("close", () => {
      sockets.delete(socket);
      clearTimeout(waiting.get(socket));
      waiting.delete(socket);
    });
    if (!bridge(socket)) wait(socket);
  });
  await listen(server, hostname, options.port ?? 0);

  // A mux that will never come: close the waiting connections rather than let them hang.
  const giveUp = () => {
    for (const [socket, timer] of waiting) {
      clearTimeout(timer);
      socket.destroy();
    }
    waiting.clear();
  };
  if (mux instanceof Promise) mux.then(attach, giveUp);
  else if (mux) attach(mux);

  const close = async () => {
    if (closing) return;
    closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const timer of waiting.values()) clearTimeout(timer);
    waiting.clear();
    for (const socket of sockets) socket.destroy();
    await Promise.all([closed, ...bridges]);
  };
  const address = server.address() as net.AddressInfo;
  return {
    hostname: address.address,
    port: address.port,
    attach,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options for {@link serveHostStreams}. */
export interface HostStreamsOptions {
  /** Loopback address of the shared service. Default "127.0.0.1"; nothing else is dialled. */
  targetHost?: string;
  /** Port of the shared service. */
  targetPort: number;
}

/** The host side's handle on the streams it serves. */
export interface HostStreams {
  /** Stop accepting streams and close every connection. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Answer every stream the peer opens by dialling the shared service on loopback
 * and bridging the two. A failed dial resets the stream with a reason such as
 * "connection refused", so the guest's client sees its connection close.
 * Sets `mux.onstream`.
 */
export function serveHostStreams(mux: Mux, options: HostStreamsOptions): HostStreams {
  const host = options.targetHost ?? "127.0.0.1";
  if (!isLoopback(host)) {
    throw new RangeError(`targetHost must be a loopback address, got ${host}`);
  }
  const port = options.targetPort;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`targetPort must be 1..65535, got ${port}`);
  }

  const sockets = new Set<net.Socket>();
  const bridges = new Set<Promise<void>>();
  const onstream = (stream: TunnelStream) => {
    const reads = reusedReads();
    const socket = net.connect({ host, port, allowHalfOpen: true, onread: reads.onread });
    sockets.add(socket);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    bridges.add(closed);
    closed.then(() => {
      sockets.delete(socket);
      bridges.delete(closed);
    });
    const dialFailed = (err: NodeJS.ErrnoException) => stream.reset(dialErrorReason(err));
    socket.once("error", dialFailed);
    stream.onclose = () => socket.destroy(); // the guest gave up while we dialled
    socket.once("connect", () => {
      socket.off("error", dialFailed);
      const done = bridgeTcp(stream, socket, reads);
      bridges.add(done);
      done.finally(() => bridges.delete(done));
    });
  };
  mux.onstream = onstream;

  const close = async () => {
    if (mux.onstream === onstream) mux.onstream = null;
    for (const socket of sockets) socket.destroy();
    await Promise.all(bridges);
  };
  return { close, [Symbol.asyncDispose]: close };
}

/** True for a loopback IP literal or "localhost". */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return net.isIPv4(host) && host.startsWith("127.");
}

function dialErrorReason(err: NodeJS.ErrnoException): string {
  if (err.code === "ECONNREFUSED") return "connection refused";
  return `dial failed: ${err.code ?? err.message}`;
}

function socketErrorReason(err: NodeJS.ErrnoException): string {
  if (err.code === "ECONNRESET") return "connection reset";
  return `socket error: ${err.code ?? err.message}`;
}

function listen(server: net.Server, hostname: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
