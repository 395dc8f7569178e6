/**
 * A deliberately small TURN client transport for the tests: it sends what
 * the test builds, matches responses by transaction id, and queues
 * everything else (Data indications, ChannelData). It frames TCP by hand,
 * independently of lib/turn/stream.ts, so the two are checked against each
 * other rather than sharing a bug.
 */
import dgram from "node:dgram";
import net from "node:net";
import {
  createMessage,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  type EncodeOptions,
  ErrorCode,
  getAttribute,
  longTermKey,
  Nonce,
  Realm,
  setAttribute,
  StunClass,
  type StunMessage,
  type TransportAddress,
  Username,
} from "../../lib/stun/mod.ts";
import { TurnMethod } from "../../lib/turn/mod.ts";

/** Something the server sent that was not a response. */
export type Unsolicited =
  | { kind: "stun"; message: DecodedStunMessage }
  | { kind: "channel"; channel: number; length: number; data: Uint8Array; raw: Uint8Array };

export class TestTurnClient {
  readonly transport: "udp" | "tcp";
  #write: (bytes: Uint8Array) => void;
  #close: () => Promise<void>;
  #waiting = new Map<string, (m: DecodedStunMessage) => void>();
  #queue: Unsolicited[] = [];
  #wake: (() => void)[] = [];
  /** Credentials state after {@link allocate}. */
  username = "";
  realm = "";
  nonce = "";
  key: Uint8Array = new Uint8Array(0);
  /** True once the server closed a TCP connection. */
  ended = false;

  private constructor(
    transport: "udp" | "tcp",
    write: (b: Uint8Array) => void,
    close: () => Promise<void>,
  ) {
    this.transport = transport;
    this.#write = write;
    this.#close = close;
  }

  static async udp(port: number): Promise<TestTurnClient> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const client = new TestTurnClient(
      "udp",
      (bytes) => socket.send(bytes, port, "127.0.0.1"),
      () => new Promise<void>((resolve) => socket.close(() => resolve())),
    );
    socket.on("message", (data: Uint8Array) => client.#receive(new Uint8Array(data)));
    return client;
  }

  static async tcp(port: number): Promise<TestTurnClient> {
    const socket = net.connect({ port, host: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new TestTurnClient("tcp", (bytes) => socket.write(bytes), () => {
      socket.destroy();
      return Promise.resolve();
    });
    let buffer = new Uint8Array(0);
    socket.on("data", (chunk: Uint8Array) => {
      const joined = new Uint8Array(buffer.length + chunk.length);
      joined.set(buffer);
      joined.set(chunk, buffer.length);
      buffer = joined;
      // STUN: 20 + length. ChannelData: 4 + length, padded to 4 on TCP (RFC 8656 §12.5).
      while (buffer.length >= 4) {
        const length = (buffer[2] << 8) | buffer[3];
        const size = (buffer[0] & 0xc0) === 0 ? 20 + length : (4 + length + 3) & ~3;
        if (buffer.length < size) break;
        client.#receive(buffer.slice(0, size));
        buffer = buffer.slice(size);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      client.ended = true;
      client.#wake.splice(0).forEach((wake) => wake());
    });
    return client;
  }

  #receive(bytes: Uint8Array): void {
    if ((bytes[0] & 0xc0) === 0x40) {
      const length = (bytes[2] << 8) | bytes[3];
      this.#queue.push({
        kind: "channel",
        channel: (bytes[0] << 8) | bytes[1],
        length,
        data: bytes.slice(4, 4 + length),
        raw: bytes,
      });
    } else {
      const message = decodeMessage(bytes);
      const id = message.transactionId.join(",");
      const waiter = this.#waiting.get(id);
      if (waiter && message.class !== StunClass.Indication) {
        this.#waiting.delete(id);
        waiter(message);
        return;
      }
      this.#queue.push({ kind: "stun", message });
    }
    this.#wake.splice(0).forEach((wake) => wake());
  }

  /** Raw bytes to the server. */
  sendRaw(bytes: Uint8Array): void {
    this.#write(bytes);
  }

  /** Send a request and wait for the response with its transaction id. */
  request(msg: StunMessage, options: EncodeOptions = {}, ms = 3000): Promise<DecodedStunMessage> {
    const id = msg.transactionId.join(",");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no response to method 0x${msg.method.toString(16)} within ${ms} ms`));
      }, ms);
      this.#waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.#write(encodeMessage(msg, options));
    });
  }

  /** A request signed with the credentials {@link allocate} established. */
  signed(method: number, fill: (m: StunMessage) => void = () => {}): Promise<DecodedStunMessage> {
    const msg = createMessage(method, StunClass.Request);
    fill(msg);
    setAttribute(msg, Username, this.username);
    setAttribute(msg, Realm, this.realm);
    setAttribute(msg, Nonce, this.nonce);
    return this.request(msg, { integrityKey: this.key, fingerprint: true });
  }

  /**
   * Allocate the way every TURN client does: unauthenticated first, read
   * REALM and NONCE from the 401, then again with MESSAGE-INTEGRITY. Returns
   * both responses.
   */
  async allocate(
    username: string,
    password: string,
    fill: (m: StunMessage) => void,
  ): Promise<{ challenge: DecodedStunMessage; response: DecodedStunMessage }> {
    const first = createMessage(TurnMethod.Allocate, StunClass.Request);
    fill(first);
    const challenge = await this.request(first);
    this.realm = getAttribute(challenge, Realm) ?? "";
    this.nonce = getAttribute(challenge, Nonce) ?? "";
    this.username = username;
    this.key = longTermKey(username, this.realm, password);
    const response = await this.signed(TurnMethod.Allocate, fill);
    return { challenge, response };
  }

  /** The next unsolicited message, waiting up to `ms`. */
  async next(ms = 3000): Promise<Unsolicited> {
    const deadline = Date.now() + ms;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) throw new Error(`nothing from the server within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#queue.shift()!;
  }

  /** How many unsolicited messages are queued. */
  get queued(): number {
    return this.#queue.length;
  }

  close(): Promise<void> {
    return this.#close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#close();
  }
}

/** The error code of a response, or undefined for a success. */
export function errorCodeOf(msg: DecodedStunMessage): number | undefined {
  return msg.class === StunClass.ErrorResponse ? getAttribute(msg, ErrorCode)?.code : undefined;
}

/** A UDP socket playing a peer, with a queue of what reached it. */
export async function udpPeer() {
  const socket = dgram.createSocket("udp4");
  const received: { data: Uint8Array; from: TransportAddress }[] = [];
  const wake: (() => void)[] = [];
  socket.on("message", (data: Uint8Array, rinfo: dgram.RemoteInfo) => {
    received.push({
      data: new Uint8Array(data),
      from: { family: "IPv4", address: rinfo.address, port: rinfo.port },
    });
    wake.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const address: TransportAddress = {
    family: "IPv4",
    address: "127.0.0.1",
    port: socket.address().port,
  };
  return {
    address,
    received,
    send(data: Uint8Array, to: TransportAddress) {
      socket.send(data, to.port, to.address);
    },
    async next(ms = 3000) {
      const deadline = Date.now() + ms;
      while (received.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`peer got nothing within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received.shift()!;
    },
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Wait `ms`; for asserting that nothing arrives. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
