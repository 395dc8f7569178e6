/**
 * Deno adapter, QUIC part: WebTransport over HTTP/3 servers on
 * `Deno.QuicEndpoint` (needs `--unstable-net`).
 *
 * `Deno.upgradeWebTransport` does the HTTP/3 SETTINGS exchange and answers
 * the extended CONNECT, and is used for that. Its stream objects are not: in
 * Deno 2.9 a WebTransport stream wraps the QUIC stream without owning it, so
 * closing its writable sends no FIN and the peer never sees the end of the
 * stream (the same holds for Deno's WebTransport client). The session here
 * therefore takes streams straight from the QUIC connection and reads and
 * writes the WebTransport stream prefix itself (webtransport_header.ts);
 * closing a writable then ends the stream as it should.
 */
import type {
  RemoteAddress,
  WebTransportListener,
  WebTransportListenOptions,
  WebTransportSessionLike,
  WebTransportStreamLike,
} from "./types.ts";
import { encodeBidiStreamHeader, readBidiStreamHeader } from "./webtransport_header.ts";
import { raiseQuicReceiveBuffer } from "./deno_quic.ts";

/**
 * The session ID of every session accepted here. A session ID is the stream
 * ID of its CONNECT request (draft-ietf-webtrans-http3), and Deno's accept
 * takes the client's first bidirectional stream as that request: stream 0,
 * as quinn hands out streams in ID order (RFC 9000 §2.1).
 */
const SESSION_ID = 0n;
const STREAM_HEADER = encodeBidiStreamHeader(SESSION_ID);

/** A peer that sends no CONNECT (or no stream prefix) within this is dropped. */
const SETUP_TIMEOUT_MS = 10_000;
/** Keep-alive from the server side: tunnels idle for long stretches; one side suffices. */
const KEEP_ALIVE_MS = 10_000;
/** Chromium's own QUIC idle timeout. */
const MAX_IDLE_MS = 30_000;
/** H3_GENERAL_PROTOCOL_ERROR (RFC 9114 §8.1): closes a connection that is not WebTransport. */
const H3_GENERAL_PROTOCOL_ERROR = 0x101;

/** True when Deno runs with `--unstable-net` (QUIC and WebTransport present). */
export function hasQuic(): boolean {
  return typeof Deno.QuicEndpoint === "function" &&
    typeof Deno.upgradeWebTransport === "function";
}

/** Listen for WebTransport sessions on a new UDP port (ALPN "h3", as browsers require). */
export function listenWebTransport(
  options: WebTransportListenOptions,
): Promise<WebTransportListener> {
  if (!hasQuic()) {
    return Promise.reject(new Error("QUIC/WebTransport needs Deno run with --unstable-net"));
  }
  const endpoint = new Deno.QuicEndpoint({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port,
  });
  let listener: Deno.QuicListener;
  try {
    listener = endpoint.listen({
      alpnProtocols: ["h3"],
      cert: options.certPem,
      key: options.keyPem,
      keepAliveInterval: KEEP_ALIVE_MS,
      maxIdleTimeout: MAX_IDLE_MS,
    });
  } catch (err) {
    endpoint.close();
    return Promise.reject(err);
  }

  let accepting = true;
  let queue!: ReadableStreamDefaultController<WebTransportSessionLike>;
  const sessions = new ReadableStream<WebTransportSessionLike>({ start: (c) => void (queue = c) });
  const pending = new Set<Promise<void>>();
  const endQueue = () => {
    if (!accepting) return;
    accepting = false;
    queue.close();
  };

  (async () => {
    for await (const incoming of listener) {
      const p = acceptSession(incoming).then((session) => {
        if (!session) return;
        if (accepting) queue.enqueue(session);
        else session.close({ closeCode: 0, reason: "listener stopped" });
      });
      pending.add(p);
      p.finally(() => pending.delete(p));
    }
  })().catch(() => {}).finally(endQueue);

  // Browsers upload through this socket: the same receive buffer as the data
  // plane's endpoints (deno_quic.ts says why).
  return raiseQuicReceiveBuffer(endpoint.addr.port).then((): WebTransportListener => ({
    port: endpoint.addr.port,
    sessions,
    stop() {
      endQueue();
      try {
        listener.stop();
      } catch { /* already stopped */ }
    },
    close() {
      this.stop();
      endpoint.close({ closeCode: 0, reason: "closed" });
    },
  }));
}

/** Finish the QUIC handshake and the HTTP/3 upgrade; undefined if either fails. */
async function acceptSession(
  incoming: Deno.QuicIncoming,
): Promise<DenoWebTransportSession | undefined> {
  let conn: Deno.QuicConn;
  try {
    // Bounded by the QUIC idle timeout: a stalled handshake ends on its own.
    conn = await incoming.accept();
  } catch {
    return undefined; // handshake failed (e.g. a client pinning another cert)
  }
  try {
    const wt = await withTimeout(Deno.upgradeWebTransport(conn), SETUP_TIMEOUT_MS);
    return new DenoWebTransportSession(conn, wt);
  } catch {
    conn.close({ closeCode: H3_GENERAL_PROTOCOL_ERROR, reason: "not a WebTransport session" });
    return undefined;
  }
}

class DenoWebTransportSession implements WebTransportSessionLike {
  readonly path: string;
  readonly ready: Promise<void> = Promise.resolve();
  readonly closed: Promise<unknown>;
  readonly incomingBidirectionalStreams: ReadableStream<WebTransportStreamLike>;
  readonly #conn: Deno.QuicConn;
  /**
   * Deno's WebTransport object holds the HTTP/3 control streams. Nothing here
   * uses it after the upgrade, but it must live as long as the session: once
   * it is garbage-collected, the peer's control stream is dropped, the peer
   * gets STOP_SENDING on it and closes the connection
   * (H3_CLOSED_CRITICAL_STREAM; Chromium then reports "Connection lost"),
   * at whatever moment the collector happens to run.
   */
  readonly #upgraded: WebTransport;

  constructor(conn: Deno.QuicConn, upgraded: WebTransport & { url: string }) {
    this.#conn = conn;
    this.#upgraded = upgraded;
    const u = new URL(upgraded.url);
    this.path = u.pathname + u.search;
    this.closed = conn.closed.then((info) => info, (err) => err);
    this.incomingBidirectionalStreams = peerStreams(conn, this.closed);
  }

  get remote(): RemoteAddress {
    const addr = this.#conn.remoteAddr;
    return { address: addr.hostname, port: addr.port };
  }

  async createBidirectionalStream(): Promise<WebTransportStreamLike> {
    const stream = await this.#conn.createBidirectionalStream();
    const writer = stream.writable.getWriter();
    await writer.write(STREAM_HEADER);
    writer.releaseLock();
    return { readable: stream.readable, writable: stream.writable };
  }

  close(info: { closeCode?: number; reason?: string } = {}): void {
    try {
      this.#conn.close({ closeCode: info.closeCode ?? 0, reason: info.reason ?? "" });
    } catch { /* already closed */ }
  }
}

/**
 * The peer's streams of this session, each once its prefix has arrived. A
 * prefix is awaited per stream, so a peer stalling one stream holds up no other;
 * a stream with a bad or missing prefix is reset.
 */
function peerStreams(
  conn: Deno.QuicConn,
  closed: Promise<unknown>,
): ReadableStream<WebTransportStreamLike> {
  let open = true;
  return new ReadableStream<WebTransportStreamLike>({
    start(controller) {
      const finish = () => {
        if (open) controller.close();
        open = false;
      };
      closed.then(finish);
      (async () => {
        for await (const stream of conn.incomingBidirectionalStreams) {
          checkPrefix(stream).then((ok) => {
            if (ok && open) controller.enqueue(stream);
            else refuse(stream);
          });
        }
      })().catch(() => {}).finally(finish);
    },
    cancel() {
      open = false;
    },
  });
}

async function checkPrefix(stream: Deno.QuicBidirectionalStream): Promise<boolean> {
  const reader = stream.readable.getReader({ mode: "byob" });
  try {
    const header = await withTimeout(
      readBidiStreamHeader((n) => readExactly(reader, n)),
      SETUP_TIMEOUT_MS,
    );
    return header.sessionId === SESSION_ID;
  } catch {
    return false;
  } finally {
    reader.releaseLock();
  }
}

function refuse(stream: Deno.QuicBidirectionalStream): void {
  stream.readable.cancel().catch(() => {});
  stream.writable.abort().catch(() => {});
}

/** Exactly n bytes from a byte stream, or null if it ends first. */
async function readExactly(
  reader: ReadableStreamBYOBReader,
  n: number,
): Promise<Uint8Array | null> {
  let buffer = new ArrayBuffer(n);
  let filled = 0;
  while (filled < n) {
    const { value, done } = await reader.read(new Uint8Array(buffer, filled, n - filled));
    if (done || !value) return null;
    buffer = value.buffer as ArrayBuffer;
    filled += value.byteLength;
  }
  return new Uint8Array(buffer);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
