/**
 * A WebTransport server that browsers reach by certificate hash, with the
 * certificate renewed before the 14-day limit runs out.
 *
 * Browsers take `serverCertificateHashes` only for certs valid at most 14 days
 * (lib/cert/webtransport.ts), and a QUIC listener has one cert for all comers
 * (peers reach it by IP, so there is no server name to pick a cert by). So a
 * renewal is a new cert on a new listener, on a new UDP port: peers told the
 * new port and hash connect there, while the old listener keeps accepting
 * until its cert expires. Sessions outlive their listener's expiry (TLS checks
 * the cert only at the handshake); a retired listener's UDP socket closes
 * when its last session does.
 *
 * Timeline of one listener (times from its creation):
 *
 *     0 ........................ lifetime − renewBefore ......... lifetime
 *     listen, accept             successor starts                stop accepting
 */
import { WEBTRANSPORT_VALID_DAYS, webTransportCert } from "../cert/mod.ts";
import {
  listenWebTransport,
  type WebTransportListener,
  type WebTransportSessionLike,
} from "../runtime/mod.ts";

const DAY_MS = 86_400_000;
/** A fresh cert's remaining validity: its notBefore lies an hour back. */
const CERT_LIFETIME_MS = WEBTRANSPORT_VALID_DAYS * DAY_MS - 3_600_000;
/** After a failed renewal, the next try comes this much later. */
const RETRY_MS = 60_000;
/** setTimeout's largest delay (2^31 − 1 ms); longer waits are done in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options for {@link WebTransportEndpoint.start}. */
export interface WebTransportEndpointOptions {
  /** IP addresses peers use to reach this host; they go in each cert's subjectAltName. */
  ips: string[];
  /** Address to bind. Default "0.0.0.0". */
  hostname?: string;
  /**
   * How long before a listener expires its successor (new cert, new port)
   * starts. Default 1 day. Must be below the lifetime.
   */
  renewBeforeMs?: number;
  /**
   * How long each listener accepts sessions, from its creation. Default and
   * maximum: until its cert's notAfter (13 days less the 1-hour skew). Set
   * shorter only to watch renewals happen in tests.
   */
  lifetimeMs?: number;
  /** Initial {@link WebTransportEndpoint.onsession}. */
  onsession?: (session: WebTransportSessionLike) => void;
}

/** What peers need to connect now. */
export interface WebTransportTarget {
  /** UDP port of the current listener. */
  port: number;
  /** SHA-256 of its certificate, for `serverCertificateHashes`. */
  certSha256: Uint8Array<ArrayBuffer>;
  /** When the current listener stops accepting (its cert's notAfter unless `lifetimeMs` is shorter). */
  notAfter: Date;
}

/** An invalid {@link WebTransportEndpointOptions} field. */
export class WebTransportOptionsError extends RangeError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "WebTransportOptionsError";
  }
}

interface Generation extends WebTransportTarget {
  listener: WebTransportListener;
  /** Sessions accepted by this listener and not yet closed. */
  open: number;
  retired: boolean;
}

/** WebTransport sessions at any path, on a listener renewed before its cert expires. */
export class WebTransportEndpoint {
  /**
   * Called for every session accepted, by the current listener or an older
   * one still running. With no handler set, sessions are closed at once.
   */
  onsession: ((session: WebTransportSessionLike) => void) | undefined;

  readonly #ips: string[];
  readonly #hostname: string;
  readonly #renewBeforeMs: number;
  readonly #lifetimeMs: number;
  #generations: Generation[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  private constructor(options: WebTransportEndpointOptions) {
    this.#ips = [...options.ips];
    this.#hostname = options.hostname ?? "0.0.0.0";
    this.#renewBeforeMs = options.renewBeforeMs ?? DAY_MS;
    this.#lifetimeMs = options.lifetimeMs ?? Infinity;
    this.onsession = options.onsession;
  }

  /** Make a cert, listen on a fresh UDP port, and keep renewing until {@link close}. */
  static async start(options: WebTransportEndpointOptions): Promise<WebTransportEndpoint> {
    validate(options);
    const endpoint = new WebTransportEndpoint(options);
    await endpoint.#renew();
    return endpoint;
  }

  /**
   * Port, cert hash and expiry of the listener new peers should use. (Should
   * every renewal fail until it expires, this still names the expired one.)
   */
  get current(): WebTransportTarget {
    const g = this.#generations.at(-1);
    if (!g) throw new Error("WebTransportEndpoint is closed");
    return { port: g.port, certSha256: g.certSha256, notAfter: g.notAfter };
  }

  /** Stop renewing and close every listener and session. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const g of this.#generations) g.listener.close();
    this.#generations = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #renew(): Promise<void> {
    const now = Date.now();
    const cert = await webTransportCert(this.#ips, { now });
    const listener = await listenWebTransport({
      hostname: this.#hostname,
      port: 0,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
    });
    if (this.#closed) {
      listener.close();
      return;
    }
    const expiry = Math.min(cert.notAfter.getTime(), now + this.#lifetimeMs);
    const g: Generation = {
      listener,
      port: listener.port,
      certSha256: cert.sha256,
      notAfter: new Date(expiry),
      open: 0,
      retired: false,
    };
    this.#generations.push(g);
    void this.#pump(g);
    this.#at(expiry - this.#renewBeforeMs, () => this.#renewOrRetry(expiry));
    this.#at(expiry, () => this.#retire(g));
  }

  #renewOrRetry(deadline: number): void {
    this.#renew().catch(() => {
      if (!this.#closed && Date.now() + RETRY_MS < deadline) {
        this.#at(Date.now() + RETRY_MS, () => this.#renewOrRetry(deadline));
      }
    });
  }

  async #pump(g: Generation): Promise<void> {
    for await (const session of g.listener.sessions) {
      g.open++;
      session.closed.then(() => {
        g.open--;
        this.#closeIfDone(g);
      });
      const handler = this.onsession;
      if (!handler) {
        session.close({ closeCode: 0, reason: "no handler" });
        continue;
      }
      try {
        handler(session);
      } catch {
        session.close({ closeCode: 0, reason: "handler failed" });
      }
    }
  }

  /** Expired: no new sessions here; the socket stays while sessions do. */
  #retire(g: Generation): void {
    g.retired = true;
    g.listener.stop();
    this.#closeIfDone(g);
  }

  #closeIfDone(g: Generation): void {
    if (!g.retired || g.open > 0) return;
    g.listener.close();
    const i = this.#generations.indexOf(g);
    // The newest generation stays listed even when retired, so `current`
    // keeps answering if every renewal failed.
    if (i >= 0 && i < this.#generations.length - 1) this.#generations.splice(i, 1);
  }

  /** Run `fn` at time `when` (ms since the epoch), unless closed first. */
  #at(when: number, fn: () => void): void {
    if (this.#closed) return;
    const delay = Math.max(0, when - Date.now());
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (delay > MAX_TIMER_MS) this.#at(when, fn);
      else if (!this.#closed) fn();
    }, Math.min(delay, MAX_TIMER_MS));
    this.#timers.add(t);
  }
}

function validate(o: WebTransportEndpointOptions): void {
  if (!Array.isArray(o.ips) || o.ips.some((ip) => typeof ip !== "string")) {
    throw new WebTransportOptionsError("ips", "must be an array of IP address strings");
  }
  const renewBefore = o.renewBeforeMs ?? DAY_MS;
  if (!Number.isFinite(renewBefore) || renewBefore < 0) {
    throw new WebTransportOptionsError("renewBeforeMs", `must be >= 0, got ${o.renewBeforeMs}`);
  }
  if (o.lifetimeMs !== undefined && !(Number.isFinite(o.lifetimeMs) && o.lifetimeMs > 0)) {
    throw new WebTransportOptionsError("lifetimeMs", `must be > 0, got ${o.lifetimeMs}`);
  }
  const lifetime = Math.min(o.lifetimeMs ?? Infinity, CERT_LIFETIME_MS);
  if (renewBefore >= lifetime) {
    throw new WebTransportOptionsError(
      "renewBeforeMs",
      `must be below the listener lifetime (${lifetime} ms), got ${renewBefore}`,
    );
  }
}
