/** Options for {@link serveHttp}. */
export interface ServeOptions {
  /** Address to bind. Default "0.0.0.0". */
  hostname?: string;
  /** Port to bind; 0 picks a free port (read it back from `HttpServer.port`). */
  port: number;
  /**
   * Serve HTTPS (and WebSocket upgrades as wss://) with this certificate chain
   * and private key, both PEM (the key PKCS#8 or SEC1). Default: plain HTTP.
   */
  tls?: { certPem: string; keyPem: string };
}

/** A running HTTP server. */
export interface HttpServer {
  hostname: string;
  port: number;
  close(): Promise<void>;
}

/** An observed remote transport address. */
export interface RemoteAddress {
  address: string;
  port: number;
}

/** One bidirectional stream of a WebTransport session. */
export interface WebTransportStreamLike {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/**
 * An accepted WebTransport session, server side: the part of the W3C
 * `WebTransport` interface tun uses, plus what the server knows of the peer.
 */
export interface WebTransportSessionLike {
  /**
   * Path and query of the URL the client opened ("/x?code=..."). Sessions are
   * accepted at any path; the caller authenticates by this or by a first stream.
   */
  readonly path: string;
  /** The peer's UDP address, read now (QUIC lets a client migrate). */
  readonly remote: RemoteAddress;
  /** Resolved: sessions are handed out only once established. */
  readonly ready: Promise<void>;
  /** Settles when the session ends, with the close info or the error; never rejects. */
  readonly closed: Promise<unknown>;
  /** Streams the peer opens. */
  readonly incomingBidirectionalStreams: ReadableStream<WebTransportStreamLike>;
  /** Open a stream to the peer. */
  createBidirectionalStream(): Promise<WebTransportStreamLike>;
  /** End the session (and its QUIC connection). */
  close(info?: { closeCode?: number; reason?: string }): void;
}

/** Options for `listenWebTransport`. */
export interface WebTransportListenOptions {
  /** Address to bind. Default "0.0.0.0". */
  hostname?: string;
  /** UDP port; 0 picks a free one (read it back from `WebTransportListener.port`). */
  port: number;
  /** Certificate chain, PEM. For browsers pinning by hash: ECDSA P-256, valid <= 14 days. */
  certPem: string;
  /** Private key, PEM. */
  keyPem: string;
}

/** A QUIC endpoint accepting WebTransport (HTTP/3, ALPN "h3") sessions. */
export interface WebTransportListener {
  port: number;
  /** Every session accepted, at any path; ends after `stop()` or `close()`. */
  sessions: AsyncIterable<WebTransportSessionLike>;
  /** Stop accepting new sessions; accepted sessions keep running on the same UDP port. */
  stop(): void;
  /** Stop accepting and close every session and the UDP socket. */
  close(): void;
}

/** One bidirectional stream of a raw QUIC connection; closing the writable sends FIN. */
export type QuicStreamLike = WebTransportStreamLike;

/** A raw QUIC connection (not WebTransport): the part tun uses. */
export interface QuicConnLike {
  /** The peer's UDP address, read now (QUIC lets a client migrate). */
  readonly remote: RemoteAddress;
  /** Settles when the connection ends, with the close info or the error; never rejects. */
  readonly closed: Promise<unknown>;
  /** Streams the peer opens; ends when the connection closes. */
  readonly incomingBidirectionalStreams: ReadableStream<QuicStreamLike>;
  /** Open a stream to the peer. */
  createBidirectionalStream(): Promise<QuicStreamLike>;
  /** End the connection. */
  close(info?: { closeCode?: number; reason?: string }): void;
}

/** Options for `openQuicEndpoint`. */
export interface QuicEndpointOptions {
  /** Address to bind. Default "0.0.0.0". */
  hostname?: string;
  /** UDP port; 0 picks a free one (read it back from `QuicEndpointLike.port`). */
  port: number;
  /**
   * Accept connections too, with this certificate and these ALPN protocols.
   * Default: dial only (connections the peer opens are refused).
   */
  server?: { certPem: string; keyPem: string; alpn: string[] };
  /** Keep-alive interval of every connection, ms; 0 sends none. Default 5000 (holds NAT mappings open). */
  keepAliveMs?: number;
  /** Idle timeout of every connection, ms; also bounds a handshake that gets no answer. Default 15000. */
  maxIdleMs?: number;
  /** Streams the peer of each connection may have open at once. Default 1024. */
  maxStreams?: number;
}

/** Options for dialling from an endpoint. */
export interface QuicDialOptions {
  hostname: string;
  port: number;
  alpn: string[];
  /**
   * The server's certificate, PEM: the only one trusted (it must be an
   * end-entity certificate, basicConstraints CA:FALSE, naming `serverName`).
   */
  caCertPem: string;
  /** The name checked against the certificate's subjectAltName. */
  serverName: string;
}

/**
 * One UDP port that accepts QUIC connections and dials them, so the address a
 * server observes for a dialled connection is also where this endpoint is
 * reachable (what a simultaneous open between two NATs needs).
 */
export interface QuicEndpointLike {
  readonly port: number;
  /** Connections accepted (handshake done); ends after `close()`. Empty without `server`. */
  readonly incoming: ReadableStream<QuicConnLike>;
  /** Dial; rejects when the handshake fails or gets no answer within the idle timeout. */
  connect(options: QuicDialOptions): Promise<QuicConnLike>;
  /** Close every connection and the UDP socket. */
  close(): void;
}

/** Options for `bindUdp`. */
export interface UdpBindOptions {
  /** Address to bind: "0.0.0.0", an IP, or "::" (dual-stack where the OS allows). */
  hostname: string;
  /** Port; 0 picks a free one (read it back from `UdpSocketLike.port`). */
  port: number;
  /**
   * Kernel receive buffer to ask for, in bytes, when the default is smaller
   * (net.core.rmem_default, 208 KiB, holds only ~90 datagrams of 1200 bytes).
   * Capped by net.core.rmem_max unless the process has CAP_NET_ADMIN; Linux
   * with FFI permitted only (lib/runtime/udp_buffers.ts). Default: the OS's.
   */
  receiveBuffer?: number;
  /**
   * Called with each datagram, and where it came from as the OS reports it
   * (a dual-stack socket names IPv4 senders ::ffff:a.b.c.d). `data` may be a
   * view of a buffer the socket reuses for the next datagram: it is valid only
   * until the call returns, so copy what must outlive it.
   * UNTRUSTED INPUT for whoever handles it.
   */
  onMessage(data: Uint8Array, address: string, port: number): void;
}

/** A bound UDP socket. */
export interface UdpSocketLike {
  readonly port: number;
  /** Family of the bound address; an "IPv6" socket reaches IPv4 hosts at ::ffff:a.b.c.d. */
  readonly family: "IPv4" | "IPv6";
  /**
   * Send one datagram. Never throws: a datagram that cannot go is lost, as UDP
   * may lose it. The send may complete later, so `data` must not be changed
   * afterwards (nor be a view of a buffer that is about to be reused).
   */
  send(data: Uint8Array, port: number, address: string): void;
  /** Release the port; no more `onMessage` calls. Safe to call twice. */
  close(): void;
}

/**
 * A TCP connection read and written in place: a read fills the caller's
 * buffer and a write resolves once the kernel took every byte, so a bridge
 * can reuse its buffers and make no garbage per chunk.
 */
export interface TcpConnLike {
  /** Read into `into`: the byte count, or null at the peer's FIN. */
  read(into: Uint8Array): Promise<number | null>;
  /** Write all of `chunk`; it may be reused once this resolves. */
  write(chunk: Uint8Array): Promise<void>;
  /** Send FIN; reading goes on. */
  closeWrite(): Promise<void>;
  /** Close both ways (pending reads and writes reject). */
  close(): void;
}

/** A listening TCP socket handing out {@link TcpConnLike} connections. */
export interface TcpListenerLike {
  readonly hostname: string;
  readonly port: number;
  /** Connections as they come, no delay set; ends once closed. Call once. */
  accept(): AsyncIterable<TcpConnLike>;
  close(): void;
}
