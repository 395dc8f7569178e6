/**
 * The host's side of browser guests over WebTransport (Deno's QUIC, lib/quic):
 * one endpoint per host, started on the first browser guest. A guest's
 * session proves on its first stream that it holds the PAKE key of a guest
 * that joined (webtransport_auth.ts); after that every bidirectional stream it
 * opens is one TCP connection to 127.0.0.1:<shared port>.
 */
import net from "node:net";
import { networkInterfaces } from "node:os";
import { hasQuic } from "../runtime/mod.ts";
import { WebTransportEndpoint, type WebTransportSessionLike } from "../quic/mod.ts";
import { bridgeTcpWeb, type Counters } from "../tunnel/tcp_web.ts";
import {
  checkClientProof,
  CLIENT_PROOF_LENGTH,
  offerTag,
  PROOF_ACCEPTED,
  proofPeer,
} from "./webtransport_auth.ts";

/** A browser guest's WebTransport session, once proved. */
export class WebTransportLink implements Counters {
  sent = 0;
  received = 0;
  /** Fires once, when the session ends. */
  onclose: ((reason: string) => void) | null = null;
  readonly #session: WebTransportSessionLike;
  #closed = false;

  constructor(session: WebTransportSessionLike) {
    this.#session = session;
    session.closed.then(() => this.#end("guest disconnected"));
  }

  get bytesSent(): number {
    return this.sent;
  }
  get bytesReceived(): number {
    return this.received;
  }

  close(reason: string): void {
    if (this.#closed) return;
    try {
      this.#session.close({ closeCode: 0, reason: reason.slice(0, 100) });
    } catch { /* closed already */ }
    this.#end(reason);
  }

  #end(reason: string) {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.(reason);
  }
}

/** What the endpoint needs to know about a guest that may connect. */
export interface WebTransportGuest {
  /** The guest's PAKE-derived key, or null while it has none (not yet confirmed). */
  key(): Uint8Array | null;
  /** The session proved itself as this guest; false refuses it (guest gone). */
  accept(link: WebTransportLink): boolean;
}

export interface HostWebTransportOptions {
  /** The shared port, dialled on 127.0.0.1 only. */
  targetPort: number;
  /** The guest with this peer id, if it is in the session. */
  guest(peer: number): WebTransportGuest | undefined;
  log?: (line: string) => void;
}

/** How long a new session may take to send its proof. */
const PROOF_TIMEOUT_MS = 5000;

/** This machine's addresses a browser may reach the endpoint at. */
function endpointAddresses(): string[] {
  const ips: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || a.family !== "IPv4") continue;
      ips.push(a.address);
    }
  }
  return ips.length ? ips.slice(0, 8) : ["127.0.0.1"];
}

export class HostWebTransport {
  readonly #o: HostWebTransportOptions;
  #endpoint: Promise<WebTransportEndpoint> | null = null;

  constructor(options: HostWebTransportOptions) {
    this.#o = options;
  }

  /** Whether `ip` is one of this machine's addresses (so it is not behind a NAT there). */
  static isLocalAddress(ip: string): boolean {
    return endpointAddresses().includes(ip);
  }

  /** Whether this runtime can offer WebTransport (Deno with --unstable-net). */
  static get available(): boolean {
    return hasQuic();
  }

  /** The offer for a guest whose PAKE key is `key`: URLs, certificate hash, tag. */
  async offer(
    key: Uint8Array,
  ): Promise<{ urls: string[]; cert_hash: Uint8Array; tag: Uint8Array }> {
    const endpoint = await this.#start();
    const { port, certSha256 } = endpoint.current;
    const urls = endpointAddresses().map((ip) => `https://${ip}:${port}/tun`);
    return { urls, cert_hash: certSha256, tag: offerTag(key, certSha256, urls) };
  }

  close(): void {
    this.#endpoint?.then((e) => e.close(), () => {});
    this.#endpoint = null;
  }

  #start(): Promise<WebTransportEndpoint> {
    if (!this.#endpoint) {
      this.#endpoint = WebTransportEndpoint.start({ ips: endpointAddresses() }).then((e) => {
        e.onsession = (s) =>
          this.#session(s).catch((err) =>
            this.#o.log?.(`WebTransport session failed: ${(err as Error).message}`)
          );
        return e;
      });
      this.#endpoint.catch(() => this.#endpoint = null);
    }
    return this.#endpoint;
  }

  async #session(session: WebTransportSessionLike) {
    const refuse = (why: string) => {
      this.#o.log?.(`WebTransport session refused: ${why}`);
      try {
        session.close({ closeCode: 1, reason: why });
      } catch { /* closed already */ }
    };
    await session.ready;
    const streams = session.incomingBidirectionalStreams.getReader();
    const timer = setTimeout(() => refuse("no proof in time"), PROOF_TIMEOUT_MS);
    const first = await streams.read().catch(() => ({ value: undefined, done: true }));
    if (!first.value) return clearTimeout(timer);
    const proof = await readExactly(first.value.readable, CLIENT_PROOF_LENGTH);
    clearTimeout(timer);
    const peer = proof ? proofPeer(proof) : null;
    const guest = peer === null ? undefined : this.#o.guest(peer);
    const key = guest?.key();
    if (!proof || !guest || !key || !checkClientProof(key, proof)) {
      return refuse("bad proof");
    }
    // Taken over before the browser hears it was accepted. Once it hears, it
    // closes its DataChannel; while the guest was still on that channel here,
    // its closing read as the guest leaving, and ended the session the browser
    // had just moved to.
    const link = new WebTransportLink(session);
    if (!guest.accept(link)) return link.close("guest is gone");
    // The write's promise may settle late or fail once the browser has read
    // the byte and let go of the stream: the browser's side decides.
    const writer = first.value.writable.getWriter();
    writer.write(new Uint8Array([PROOF_ACCEPTED])).then(() => writer.close()).catch(() => {});
    while (true) {
      const next = await streams.read().catch(() => ({ value: undefined, done: true }));
      if (!next.value) break;
      const socket = net.connect({
        host: "127.0.0.1",
        port: this.#o.targetPort,
        allowHalfOpen: true,
      });
      bridgeTcpWeb(next.value, socket, link);
    }
  }
}

/** The first `n` bytes of `readable` (leaving the rest unread), or null if it ends first. */
async function readExactly(
  readable: ReadableStream<Uint8Array>,
  n: number,
): Promise<Uint8Array | null> {
  const reader = readable.getReader();
  const out = new Uint8Array(n);
  let got = 0;
  try {
    while (got < n) {
      const { value, done } = await reader.read();
      if (done) return null;
      if (got + value.byteLength > n) return null; // more than the proof: not our protocol
      out.set(value, got);
      got += value.byteLength;
    }
    return out;
  } catch {
    return null;
  } finally {
    reader.releaseLock();
  }
}
