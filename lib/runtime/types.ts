/** Options for {@link serveHttp}. */
export interface ServeOptions {
  /** Address to bind. Default "0.0.0.0". */
  hostname?: string;
  /** Port to bind; 0 picks a free port (read it back from `HttpServer.port`). */
  port: number;
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
