/**
 * Stateless NONCE values for the long-term credential mechanism
 * (RFC 8489 §9.2). A nonce carries its own expiry and a MAC over that expiry
 * and the client's IP address under a key only this server process knows,
 * so the server keeps no table of nonces, a nonce minted for one client IP is
 * no use from another (RFC 8489 §9.2 suggests binding it to the client's
 * address), and a stale or forged one is answered with 438 Stale Nonce.
 *
 *     nonce = hex8(expiry, Unix seconds) || hex16(HMAC-SHA256(key, expiry || "/" || ip))
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Options for {@link NonceIssuer}. */
export interface NonceOptions {
  /** Seconds a nonce stays valid. Default 600, as coturn. */
  ttlSeconds?: number;
  /** MAC key. Default: 32 random bytes, so nonces die with the process. */
  key?: Uint8Array;
}

const NONCE = /^([0-9a-f]{8})([0-9a-f]{16})$/;

/** Issues and checks nonces. */
export class NonceIssuer {
  readonly #key: Uint8Array;
  readonly #ttl: number;

  constructor(options: NonceOptions = {}) {
    const { ttlSeconds = 600, key = crypto.getRandomValues(new Uint8Array(32)) } = options;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new RangeError(`nonce ttlSeconds ${ttlSeconds} is not a positive integer`);
    }
    this.#key = key;
    this.#ttl = ttlSeconds;
  }

  /** A fresh nonce for a client at `ip`, at time `now` (milliseconds). */
  issue(ip: string, now: number): string {
    const expiry = (Math.floor(now / 1000) + this.#ttl) >>> 0;
    const stamp = expiry.toString(16).padStart(8, "0");
    return stamp + this.#mac(stamp, ip);
  }

  /**
   * True when `nonce` was issued by this issuer for `ip` and has not expired.
   * UNTRUSTED INPUT: `nonce` is the client's NONCE attribute.
   */
  valid(nonce: string, ip: string, now: number): boolean {
    const m = NONCE.exec(nonce);
    if (!m) return false;
    const expected = new TextEncoder().encode(this.#mac(m[1], ip));
    if (!timingSafeEqual(expected, new TextEncoder().encode(m[2]))) return false;
    return parseInt(m[1], 16) * 1000 > now;
  }

  #mac(stamp: string, ip: string): string {
    return createHmac("sha256", this.#key).update(`${stamp}/${ip}`).digest("hex").slice(0, 16);
  }
}
