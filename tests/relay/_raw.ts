/**
 * A raw signalling WebSocket for relay tests: it opens any URL (with or
 * without a token), records every message the relay sends, and how the
 * relay closed it. Independent of lib/signal/client.ts on purpose.
 */
import { decodeMessage, encodeMessage, type Message } from "../../lib/signal/mod.ts";

export interface RawClient {
  ws: WebSocket;
  messages: Message[];
  /** Resolves when the socket closes, with the relay's code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  send(msg: Message): void;
  /** The first message of type `t` (already received or still to come). */
  next<T extends Message["t"]>(t: T, ms?: number): Promise<Extract<Message, { t: T }>>;
  close(): void;
}

/** `ws://host:port/v1/signal` plus an optional `?token=`. */
export function signalAt(relayUrl: string, token?: string): string {
  const u = new URL("/v1/signal", relayUrl.replace(/^http/, "ws"));
  if (token !== undefined) u.searchParams.set("token", token);
  return u.toString();
}

export function rawClient(url: string): RawClient {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const messages: Message[] = [];
  let wake = () => {};
  ws.onmessage = (ev) => {
    messages.push(decodeMessage(new Uint8Array(ev.data as ArrayBuffer)));
    wake();
  };
  ws.onerror = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (ev) => {
      resolve({ code: ev.code, reason: ev.reason });
      wake();
    });
  });
  let isClosed = false;
  closed.then(() => isClosed = true);
  return {
    ws,
    messages,
    closed,
    send(msg) {
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeMessage(msg));
    },
    async next(t, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = messages.find((m) => m.t === t);
        if (found) return found as Extract<Message, { t: typeof t }>;
        const left = deadline - Date.now();
        if (isClosed || left <= 0) {
          const error = messages.find((m) => m.t === "error");
          throw new Error(`no "${t}" message; ${error ? JSON.stringify(error) : "closed"}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    close() {
      try {
        ws.close();
      } catch { /* closed */ }
    },
  };
}

/**
 * A TCP forwarder on 127.0.0.1 whose connections reach `port` from source
 * address `localAddress` (any of 127.0.0.0/8 on Linux): so one test can play
 * clients at several addresses, which a WebSocket cannot choose itself.
 */
export async function forwarder(
  port: number,
  localAddress: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const { default: net } = await import("node:net");
  const sockets = new Set<import("node:net").Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: "127.0.0.1", port, localAddress });
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]]) {
      sockets.add(a);
      a.on("data", (chunk: Uint8Array) => b.write(chunk));
      a.on("end", () => b.end());
      a.on("error", () => b.destroy());
      a.on("close", () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: own } = server.address() as import("node:net").AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
