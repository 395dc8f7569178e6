/** Shared test helpers: a seeded PRNG, timeouts, loopback TCP servers and a tunnel fixture. */
import net from "node:net";
import { createHash } from "node:crypto";
import {
  type GuestPort,
  type HostStreams,
  Mux,
  type MuxOptions,
  serveGuestPort,
  serveHostStreams,
} from "../../lib/tunnel/mod.ts";
import {
  type MemoryChannel,
  type MemoryChannelOptions,
  memoryChannelPair,
} from "./memory_channel.ts";
import { prng } from "../_util/prng.ts";

/** mulberry32 (tests/_util/prng.ts) returning u32s, so failures reproduce. */
export function mulberry32(seed: number): () => number {
  const next = prng(seed);
  return () => Math.floor(next() * 4294967296) >>> 0;
}

/** `n` pseudo-random bytes from `rand`. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  for (let i = 0; i < words.length; i++) words[i] = rand();
  return new Uint8Array(words.buffer, 0, n);
}

export function sha256(...chunks: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest("hex");
}

/** Reject if `promise` has not settled within `ms`; the timer never outlives the call. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface TcpServer extends AsyncDisposable {
  port: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 (half-open allowed) whose close also closes its connections. */
export async function startTcpServer(onSocket: (socket: net.Socket) => void): Promise<TcpServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const gone = [...sockets].map((s) => new Promise((r) => s.once("close", r)));
    for (const socket of sockets) socket.destroy();
    await Promise.all([closed, ...gone]);
  };
  return { port, close, [Symbol.asyncDispose]: close };
}

/** An echo server: every byte comes back; the client's FIN is answered with FIN. */
export function startEchoServer(): Promise<TcpServer> {
  return startTcpServer((socket) => socket.pipe(socket));
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = await startTcpServer(() => {});
  await server.close();
  return server.port;
}

export interface ClientResult {
  /** Every byte received until the server's FIN or the connection closed. */
  received: Uint8Array;
  /** True if the server ended its side cleanly (FIN), false if the connection broke. */
  gotEnd: boolean;
  error?: string;
}

/**
 * Connect to 127.0.0.1:`port`, send `data` (in pieces, respecting backpressure),
 * half-close, and collect the reply until the connection closes.
 */
export function tcpExchange(port: number, data: Uint8Array): Promise<ClientResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    const chunks: Uint8Array[] = [];
    let gotEnd = false;
    let error: string | undefined;
    socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    socket.on("end", () => {
      gotEnd = true;
      socket.end();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => error = err.code ?? err.message);
    socket.on("close", () => resolve({ received: concat(chunks), gotEnd, error }));
    socket.on("connect", async () => {
      const piece = 256 * 1024;
      for (let at = 0; at < data.byteLength && !socket.destroyed; at += piece) {
        if (!socket.write(data.subarray(at, at + piece))) {
          await new Promise<void>((resolve) => {
            const done = () => {
              socket.off("drain", done).off("close", done);
              resolve();
            };
            socket.on("drain", done).on("close", done);
          });
        }
      }
      socket.end();
    });
  });
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export interface MuxPair extends AsyncDisposable {
  guest: Mux;
  host: Mux;
  guestChannel: MemoryChannel;
  hostChannel: MemoryChannel;
}

/** Two muxes joined by an in-memory channel pair. */
export function muxPair(
  options: { mux?: MuxOptions; guestMux?: MuxOptions; channel?: MemoryChannelOptions } = {},
): MuxPair {
  const [guestChannel, hostChannel] = memoryChannelPair(options.channel);
  const guest = new Mux(guestChannel, { ...options.mux, ...options.guestMux });
  const host = new Mux(hostChannel, options.mux);
  return {
    guest,
    host,
    guestChannel,
    hostChannel,
    [Symbol.asyncDispose]: async () => {
      guest.close("test over");
      host.close("test over");
      await guestChannel.settled();
    },
  };
}

export interface Tunnel extends AsyncDisposable {
  muxes: MuxPair;
  guestPort: GuestPort;
  hostStreams: HostStreams;
}

/** guest TCP port -> guest mux ==memory channel== host mux -> 127.0.0.1:`targetPort`. */
export async function startTunnel(
  targetPort: number,
  options: { mux?: MuxOptions; channel?: MemoryChannelOptions } = {},
): Promise<Tunnel> {
  const muxes = muxPair(options);
  const hostStreams = serveHostStreams(muxes.host, { targetPort });
  const guestPort = await serveGuestPort(muxes.guest);
  return {
    muxes,
    guestPort,
    hostStreams,
    [Symbol.asyncDispose]: async () => {
      await guestPort.close();
      await hostStreams.close();
      await muxes[Symbol.asyncDispose]();
    },
  };
}

/** Poll `condition` every few ms until it holds, or fail after `ms`. */
export async function waitFor(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}
