/** Deno adapter: Deno.serve + hono/deno WebSocket upgrade; QUIC in deno_webtransport.ts. */
import type { Context, Hono } from "hono";
import { getConnInfo, upgradeWebSocket } from "hono/deno";
import type { HttpServer, RemoteAddress, ServeOptions } from "./types.ts";

export { upgradeWebSocket };
export { hasQuic, listenWebTransport } from "./deno_webtransport.ts";
export { openQuicEndpoint } from "./deno_quic.ts";
export { sockOpts } from "./deno_sockopt.ts";
export { bindUdp } from "./deno_udp.ts";
export { connectTcp, listenTcp } from "./deno_tcp.ts";

export function serveHttp(app: Hono, options: ServeOptions): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: options.hostname ?? "0.0.0.0",
        port: options.port,
        ...(options.tls ? { cert: options.tls.certPem, key: options.tls.keyPem } : {}),
        onListen: () => {},
        onError: () => new Response("internal error", { status: 500 }),
      }, app.fetch);
      const addr = server.addr as Deno.NetAddr;
      resolve({
        hostname: addr.hostname,
        port: addr.port,
        close: async () => {
          await server.shutdown().catch(() => {});
        },
      });
    } catch (err) {
      reject(err);
    }
  });
}

export function remoteAddress(c: Context): RemoteAddress {
  const info = getConnInfo(c);
  return { address: info.remote.address ?? "", port: info.remote.port ?? 0 };
}
