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
