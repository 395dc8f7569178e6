/** Bun adapter: Bun.serve + hono/bun WebSocket upgrade. */
import type { Context, Hono } from "hono";
import process from "node:process";
import { createBunWebSocket, getConnInfo } from "hono/bun";
import type {
  HttpServer,
  QuicEndpointLike,
  QuicEndpointOptions,
  RemoteAddress,
  ServeOptions,
  TcpConnLike,
  TcpListenerLike,
  WebTransportListener,
  WebTransportListenOptions,
} from "./types.ts";
import { type SockOpts, sockOptsOver } from "./udp_buffers.ts";

export { bindNodeUdp as bindUdp } from "./node_udp.ts";

// deno-lint-ignore no-explicit-any
const bunWs = createBunWebSocket<any>();
export const upgradeWebSocket = bunWs.upgradeWebSocket;

// Small local description of the part of Bun's API we use.
interface BunServer {
  hostname: string;
  port: number;
  stop(closeActive?: boolean): Promise<void> | void;
}
interface BunLike {
  serve(options: {
    hostname: string;
    port: number;
    fetch: (req: Request, server: unknown) => Response | Promise<Response>;
    websocket: unknown;
    tls?: { cert: string; key: string };
  }): BunServer;
}

export function serveHttp(app: Hono, options: ServeOptions): Promise<HttpServer> {
  const bun = (globalThis as unknown as { Bun: BunLike }).Bun;
  const server = bun.serve({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port,
    fetch: (req, srv) => app.fetch(req, { server: srv }),
    websocket: bunWs.websocket,
    ...(options.tls ? { tls: { cert: options.tls.certPem, key: options.tls.keyPem } } : {}),
  });
  return Promise.resolve({
    hostname: server.hostname,
    port: server.port,
    close: async () => {
      await server.stop(true);
    },
  });
}

export function remoteAddress(c: Context): RemoteAddress {
  const info = getConnInfo(c);
  return { address: info.remote.address ?? "", port: info.remote.port ?? 0 };
}

/** Bun has no QUIC server API. */
export function hasQuic(): boolean {
  return false;
}

export function listenWebTransport(
  _options: WebTransportListenOptions,
): Promise<WebTransportListener> {
  return Promise.reject(new Error("QUIC/WebTransport is available on Deno only (--unstable-net)"));
}

export function openQuicEndpoint(_options: QuicEndpointOptions): Promise<QuicEndpointLike> {
  return Promise.reject(new Error("QUIC is available on Deno only (--unstable-net)"));
}

/** Only the QUIC data plane (Deno only) uses these; on Bun TCP is node:net's. */
export function connectTcp(_hostname: string, _port: number): Promise<TcpConnLike> {
  return Promise.reject(new Error("connectTcp is available on Deno only"));
}

export function listenTcp(_hostname: string, _port: number): Promise<TcpListenerLike> {
  return Promise.reject(new Error("listenTcp is available on Deno only"));
}

/** libc's int socket options through bun:ffi, or null where that fails. */
export async function sockOpts(): Promise<SockOpts | null> {
  if (process.platform !== "linux") return null;
  try {
    const ffiName = "bun:ffi"; // not a literal: `deno check` cannot resolve it
    const ffi = await import(ffiName) as BunFfi;
    const lib = ffi.dlopen("libc.so.6", {
      getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
      setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
    });
    return sockOptsOver(lib.symbols);
  } catch {
    return null; // no libc.so.6 (musl)
  }
}

// The part of bun:ffi we use: typed arrays pass as pointers.
interface BunFfi {
  dlopen<K extends string>(path: string, symbols: Record<K, { args: string[]; returns: string }>): {
    symbols: Record<K, (...args: (number | ArrayBufferView)[]) => number>;
  };
}
