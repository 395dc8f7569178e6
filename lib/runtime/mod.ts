/**
 * The only place that touches `Deno.*` or `Bun.*`. Everything else in tun talks
 * to the runtime through these small functions, so the same code runs on Deno
 * (tests, relay, full features) and on Bun (the single-file executable).
 *
 * TCP goes through `node:net`, which both runtimes implement; HTTP serving,
 * WebSocket upgrade and UDP (`bindUdp`) differ per runtime, and QUIC
 * (WebTransport) exists on Deno only.
 */
import type { Hono } from "hono";
import type * as denoAdapter from "./deno.ts";
import { type RaisedBuffers, raiseWith, udpFdsOnPort } from "./udp_buffers.ts";

export type {
  HttpServer,
  QuicConnLike,
  QuicDialOptions,
  QuicEndpointLike,
  QuicEndpointOptions,
  QuicStreamLike,
  RemoteAddress,
  ServeOptions,
  TcpConnLike,
  TcpListenerLike,
  UdpBindOptions,
  UdpSocketLike,
  WebTransportListener,
  WebTransportListenOptions,
  WebTransportSessionLike,
  WebTransportStreamLike,
} from "./types.ts";
export type { RaisedBuffers } from "./udp_buffers.ts";
import type {
  HttpServer,
  QuicEndpointLike,
  QuicEndpointOptions,
  ServeOptions,
  TcpConnLike,
  TcpListenerLike,
  UdpBindOptions,
  UdpSocketLike,
  WebTransportListener,
  WebTransportListenOptions,
} from "./types.ts";

/** Which runtime we are on. */
export const runtimeName: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

// Loaded lazily: hono/bun touches `Bun` at import time, hono/deno touches `Deno`.
const adapter: typeof denoAdapter = runtimeName === "bun"
  ? await import("./bun.ts") as unknown as typeof denoAdapter
  : await import("./deno.ts");

/** Serve a hono app (HTTP + WebSocket upgrade). Port 0 picks a free port. */
export function serveHttp(app: Hono, options: ServeOptions): Promise<HttpServer> {
  return adapter.serveHttp(app, options);
}

/** hono's WebSocket upgrade helper for the current runtime. */
export const upgradeWebSocket: typeof denoAdapter.upgradeWebSocket = adapter
  .upgradeWebSocket as typeof denoAdapter.upgradeWebSocket;

/** The remote address of the connection behind a hono request context. */
export const remoteAddress = adapter.remoteAddress;

/** Whether this runtime can serve QUIC/WebTransport: Deno run with `--unstable-net`. */
export function hasQuic(): boolean {
  return adapter.hasQuic();
}

/**
 * Accept WebTransport sessions (HTTP/3, ALPN "h3") at any path on a new UDP
 * port. Rejects where {@link hasQuic} is false.
 */
export function listenWebTransport(
  options: WebTransportListenOptions,
): Promise<WebTransportListener> {
  return adapter.listenWebTransport(options);
}

/**
 * A raw QUIC endpoint (not WebTransport) on one UDP port that listens (with
 * `server`) and dials from that same port. Rejects where {@link hasQuic} is false.
 */
export function openQuicEndpoint(options: QuicEndpointOptions): Promise<QuicEndpointLike> {
  return adapter.openQuicEndpoint(options);
}

/**
 * Bind a UDP socket (Deno: its own datagram API with `--unstable-net`, else
 * node:dgram; Bun: node:dgram). Rejects when the port cannot be had.
 */
export async function bindUdp(options: UdpBindOptions): Promise<UdpSocketLike> {
  const socket = await adapter.bindUdp(options);
  if (options.receiveBuffer) {
    const opts = await adapter.sockOpts().catch(() => null);
    raiseWith(opts, options.receiveBuffer, udpFdsOnPort(socket.port));
  }
  return socket;
}

/**
 * Dial TCP without node:net (types.ts TcpConnLike), no delay set. Deno only:
 * for the QUIC data plane, which is Deno only too.
 */
export function connectTcp(hostname: string, port: number): Promise<TcpConnLike> {
  return adapter.connectTcp(hostname, port);
}

/** Listen on TCP without node:net; port 0 picks a free one. Deno only, as {@link connectTcp}. */
export function listenTcp(hostname: string, port: number): Promise<TcpListenerLike> {
  return adapter.listenTcp(hostname, port);
}

/**
 * Raise the kernel receive buffer of every UDP socket of this process to at
 * least `bytes` (capped by net.core.rmem_max): for libwebrtc's sockets, which
 * we hold no handle to (lib/runtime/udp_buffers.ts says why). Linux with FFI
 * permitted only; elsewhere it does nothing. Never rejects.
 */
export async function raiseUdpReceiveBuffers(bytes: number): Promise<RaisedBuffers> {
  return raiseWith(await adapter.sockOpts().catch(() => null), bytes);
}
