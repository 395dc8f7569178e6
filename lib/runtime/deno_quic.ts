/**
 * Deno adapter, raw QUIC part: one `Deno.QuicEndpoint` that listens and dials
 * from the same UDP port (needs `--unstable-net`).
 *
 * Deno 2.9 quirks this works around:
 * - Reading any getter of a `QuicIncoming` (even `remoteAddr`) uses it up, so
 *   a later `accept()` fails: accept first, then ask the connection.
 * - `connectQuic` has no handshake timeout of its own; the idle timeout ends a
 *   handshake that gets no answer.
 * - The endpoint's UDP socket keeps the kernel's default receive buffer
 *   (net.core.rmem_default, 208 KiB) and Deno has no option for it. Between
 *   two turns of the event loop, which also runs the JavaScript that moves
 *   the bytes, a receiver at 150 MB/s gets more datagrams than that holds;
 *   each one dropped makes the sender halve its congestion window. Measured
 *   (tests/quic/throughput.ts): 4 MiB still dropped ~50 per 256 MB, 16 MiB
 *   none, and 8 parallel downloads went from ~72 to ~150 MB/s.
 * Unlike Deno's WebTransport streams, raw QUIC streams send FIN when their
 * writable closes.
 */
import type {
  QuicConnLike,
  QuicDialOptions,
  QuicEndpointLike,
  QuicEndpointOptions,
  QuicStreamLike,
  RemoteAddress,
} from "./types.ts";
import { sockOpts } from "./deno_sockopt.ts";
import { raiseWith, udpFdsOnPort } from "./udp_buffers.ts";

const KEEP_ALIVE_MS = 5_000;
const MAX_IDLE_MS = 15_000;
/** Deno's default is 100: one guest's browser or a busy client needs more at once. */
const MAX_STREAMS = 1024;
/** Kernel receive buffer asked for the endpoint's UDP socket (see above). */
const UDP_RECEIVE_BUFFER = 16 * 1024 * 1024;

export async function openQuicEndpoint(options: QuicEndpointOptions): Promise<QuicEndpointLike> {
  const endpoint = openEndpoint(options);
  await raiseQuicReceiveBuffer(endpoint.port);
  return endpoint;
}

/** Give the UDP socket bound to `port` (a QUIC endpoint's, see above) UDP_RECEIVE_BUFFER. */
export async function raiseQuicReceiveBuffer(port: number): Promise<void> {
  const opts = await sockOpts();
  if (opts) raiseWith(opts, UDP_RECEIVE_BUFFER, udpFdsOnPort(port));
}

function openEndpoint(options: QuicEndpointOptions): QuicEndpointLike {
  if (typeof Deno.QuicEndpoint !== "function") {
    throw new Error("QUIC needs Deno run with --unstable-net");
  }
  const keepAlive = options.keepAliveMs ?? KEEP_ALIVE_MS;
  const transport = {
    keepAliveInterval: keepAlive > 0 ? keepAlive : undefined,
    maxIdleTimeout: options.maxIdleMs ?? MAX_IDLE_MS,
    maxConcurrentBidirectionalStreams: options.maxStreams ?? MAX_STREAMS,
  };
  const endpoint = new Deno.QuicEndpoint({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port,
  });
  let listener: Deno.QuicListener | undefined;
  try {
    if (options.server) {
      listener = endpoint.listen({
        alpnProtocols: options.server.alpn,
        cert: options.server.certPem,
        key: options.server.keyPem,
        ...transport,
      });
    }
  } catch (err) {
    endpoint.close();
    throw err;
  }

  let accepting = true;
  const incoming = new ReadableStream<QuicConnLike>({
    start(controller) {
      if (!listener) return controller.close();
      const l = listener;
      (async () => {
        for await (const attempt of l) {
          // Not awaited: one slow handshake must not hold up the others.
          attempt.accept<false>().then(
            (conn: Deno.QuicConn) => {
              if (accepting) controller.enqueue(new DenoQuicConn(conn));
              else conn.close({ closeCode: 0, reason: "endpoint closed" });
            },
            () => {/* handshake failed: nothing to hand out */},
          );
        }
      })().catch(() => {}).finally(() => {
        if (!accepting) return;
        accepting = false;
        try {
          controller.close();
        } catch { /* cancelled */ }
      });
    },
    cancel() {
      accepting = false;
    },
  });
  return {
    port: endpoint.addr.port,
    incoming,
    async connect(o: QuicDialOptions): Promise<QuicConnLike> {
      const conn = await Deno.connectQuic({
        endpoint,
        hostname: o.hostname,
        port: o.port,
        alpnProtocols: o.alpn,
        caCerts: [o.caCertPem],
        serverName: o.serverName,
        ...transport,
      });
      return new DenoQuicConn(conn);
    },
    close() {
      accepting = false;
      try {
        listener?.stop();
      } catch { /* stopped */ }
      try {
        endpoint.close({ closeCode: 0, reason: "closed" });
      } catch { /* closed */ }
    },
  };
}

class DenoQuicConn implements QuicConnLike {
  readonly closed: Promise<unknown>;
  readonly #conn: Deno.QuicConn;
  #incoming?: ReadableStream<QuicStreamLike>;

  constructor(conn: Deno.QuicConn) {
    this.#conn = conn;
    this.closed = conn.closed.then((info) => info, (err) => err);
  }

  get remote(): RemoteAddress {
    const addr = this.#conn.remoteAddr;
    return { address: addr.hostname, port: addr.port };
  }

  get incomingBidirectionalStreams(): ReadableStream<QuicStreamLike> {
    // Deno's own stream is created on first use; keep handing out the same one.
    this.#incoming ??= this.#conn.incomingBidirectionalStreams;
    return this.#incoming;
  }

  async createBidirectionalStream(): Promise<QuicStreamLike> {
    const s = await this.#conn.createBidirectionalStream();
    return { readable: s.readable, writable: s.writable };
  }

  close(info: { closeCode?: number; reason?: string } = {}): void {
    try {
      this.#conn.close({ closeCode: info.closeCode ?? 0, reason: info.reason ?? "" });
    } catch { /* closed already */ }
  }
}
