/** A peer's WebSocket connection to the relay, speaking the messages in messages.ts. */
import {
  type Addr,
  decodeMessage,
  encodeMessage,
  type Message,
  type QuicListenerInfo,
} from "./messages.ts";

export interface SignalClientOptions {
  /** Relay base URL, `http://host:port` or `https://host:port`. */
  relayUrl: string;
  /** How long to wait for the WebSocket and the relay's welcome. Default 10 s. */
  timeoutMs?: number;
  /**
   * Query parameters for the signalling URL, e.g. a relay access token
   * (lib/auth `mintToken`, `TOKEN_PARAM`) when the relay requires one.
   */
  params?: Record<string, string>;
}

/** The WebSocket URL of a relay's signalling endpoint. */
export function signalUrl(relayUrl: string): string {
  const u = new URL(relayUrl);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new Error(`relay URL must start with http:// or https://, got "${relayUrl}"`);
  }
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = u.pathname.replace(/\/+$/, "") + "/v1/signal";
  return u.toString();
}

const CLOSED = "connection to relay closed";

type Waiter = { types: string[]; resolve: (m: Message) => void; reject: (e: Error) => void };

export class SignalClient {
  /**
   * What the relay told us on connect: our address as it sees it, its STUN
   * ports, and its QUIC listener (null when it has none).
   */
  welcome: {
    addr: Addr;
    stun_port: number;
    stun_alt_port: number;
    quic: QuicListenerInfo | null;
  } = {
    addr: { address: "", port: 0 },
    stun_port: 0,
    stun_alt_port: 0,
    quic: null,
  };
  /** Messages not claimed by a pending {@link next}. */
  onmessage: ((msg: Message) => void) | null = null;
  /** Called once when the connection ends, with the relay's reason if it gave one. */
  onclose: ((reason: string) => void) | null = null;
  #ws: WebSocket;
  #waiters: Waiter[] = [];
  #closed = false;
  #closeReason = "";
  #ping: ReturnType<typeof setInterval> | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  static connect(options: SignalClientOptions): Promise<SignalClient> {
    let url = signalUrl(options.relayUrl);
    if (options.params) {
      const u = new URL(url);
      for (const [k, v] of Object.entries(options.params)) u.searchParams.set(k, v);
      url = u.toString();
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        reject(new Error(`cannot connect to relay ${options.relayUrl}: ${(err as Error).message}`));
        return;
      }
      ws.binaryType = "arraybuffer";
      const client = new SignalClient(ws);
      const timer = setTimeout(() => {
        fail(`relay ${options.relayUrl} did not answer within ${timeoutMs / 1000} s`);
        try {
          ws.close();
        } catch { /* already closed */ }
      }, timeoutMs);
      let settled = false;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(message));
      };
      client.#attach();
      client.next(["welcome"], timeoutMs).then((m) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (m.t === "welcome") {
          client.welcome = {
            addr: m.addr,
            stun_port: m.stun_port,
            stun_alt_port: m.stun_alt_port,
            quic: m.quic ?? null,
          };
        }
        client.#ping = setInterval(() => client.send({ t: "ping" }), 20_000);
        resolve(client);
      }, (err: Error) => {
        const why = err.message === CLOSED
          ? "nothing answered (is a tun relay running there?)"
          : err.message;
        fail(why.startsWith("relay") ? why : `cannot connect to relay ${options.relayUrl}: ${why}`);
      });
    });
  }

  #attach() {
    this.#ws.onmessage = (ev: MessageEvent) => {
      if (!(ev.data instanceof ArrayBuffer)) return this.#fail("relay sent a text frame");
      let msg: Message;
      try {
        msg = decodeMessage(new Uint8Array(ev.data));
      } catch (err) {
        return this.#fail(`relay sent a bad message: ${(err as Error).message}`);
      }
      if (msg.t === "ping") return this.send({ t: "pong" });
      if (msg.t === "pong") return;
      if (msg.t === "error") this.#closeReason = msg.message;
      const i = this.#waiters.findIndex((w) => w.types.includes(msg.t) || msg.t === "error");
      if (i >= 0) {
        const [w] = this.#waiters.splice(i, 1);
        if (msg.t === "error" && !w.types.includes("error")) w.reject(new Error(msg.message));
        else w.resolve(msg);
        return;
      }
      this.onmessage?.(msg);
    };
    this.#ws.onerror = () => {};
    this.#ws.onclose = (ev: CloseEvent) => {
      if (this.#closed) return;
      this.#closed = true;
      clearInterval(this.#ping);
      const reason = this.#closeReason || ev.reason || CLOSED;
      for (const w of this.#waiters.splice(0)) w.reject(new Error(reason));
      this.onclose?.(reason);
    };
  }

  #fail(reason: string) {
    this.#closeReason = reason;
    try {
      this.#ws.close(1008, reason.slice(0, 120));
    } catch { /* ignore */ }
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(msg: Message): void {
    if (this.#closed || this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(encodeMessage(msg));
  }

  /** The next message of one of `types` (an `error` from the relay rejects). */
  next(types: Message["t"][], timeoutMs = 10_000): Promise<Message> {
    if (this.#closed) return Promise.reject(new Error(this.#closeReason || "relay closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`relay did not send ${types.join("/")} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const w: Waiter = {
        types,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.push(w);
    });
  }

  /**
   * Close the connection. The returned promise settles once the socket has
   * closed (so messages sent just before, a refusal or a key confirmation, are
   * on their way) or after `graceMs`, whichever comes first.
   */
  close(graceMs = 500): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearInterval(this.#ping);
    for (const w of this.#waiters.splice(0)) w.reject(new Error("closed"));
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.#ws.addEventListener("close", () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.#ws.close(1000, "bye");
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
