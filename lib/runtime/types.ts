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
