/**
 * The relay's limits on what one client may ask of it, so that one abusive
 * client (or one scanning for join codes) costs only itself: join attempts
 * per client address and per code, hosted sessions and WebSocket
 * connections per client address, and messages per connection. The message
 * size limit lives with the codec (MAX_MESSAGE_BYTES, lib/signal), TURN
 * allocations per peer with the TURN server (maxAllocationsPerUser).
 *
 * A "client address" is the IPv4 address, or the /64 an IPv6 address is in
 * (one subscriber usually holds a whole /64, RFC 6177). Behind a reverse
 * proxy every client has the proxy's address: raise the per-address limits
 * there, or they apply to everyone at once.
 *
 * Rates are token buckets: `n` per minute allows a burst of `n` and then one
 * every 60/n seconds. Pure bookkeeping over an injected clock; the server
 * and the session table ask and refuse with the reason given here.
 */
import { parseIPv6 } from "../lib/stun/ip.ts";

/** Options for {@link RelayLimits}; every field is validated once, at construction. */
export interface RelayLimitsOptions {
  /** Join attempts per client address (burst, and refill per minute); all attempts count. Default 20. */
  joinsPerIpPerMinute?: number;
  /**
   * Join attempts per live join code from all addresses together (burst, and
   * refill per minute), failed ones (session full) included. Codes that do
   * not exist have no bucket: the per-address limit covers scans. Default
   * 30: a room of people may join one code at once, and wrong guesses at the
   * rest of the code are the host's to count (it retires a code after 3).
   */
  joinsPerCodePerMinute?: number;
  /** Sessions (hosted codes) one client address holds at once. Default 16. */
  sessionsPerIp?: number;
  /** WebSocket connections one client address holds open at once. Default 64. */
  connectionsPerIp?: number;
  /** Messages per second one connection may send, sustained. Default 50. */
  messagesPerSecond?: number;
  /** Messages one connection may send at once above that rate. Default 200. */
  messageBurst?: number;
  /** Clock in milliseconds. Default Date.now. */
  now?: () => number;
}

/** Most keys a rate table holds; past it, the longest-idle ones are forgotten. */
const MAX_KEYS = 100_000;

/** A token bucket: `capacity` at most, refilled at `perMs` tokens a millisecond. */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  #tokens: number;
  #at: number;

  constructor(capacity: number, perMs: number, now: number) {
    this.#capacity = capacity;
    this.#perMs = perMs;
    this.#tokens = capacity;
    this.#at = now;
  }

  /** Take one token if there is one. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0 if one is). */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#perMs);
  }

  /** True when refilled to capacity: then it is no different from a new bucket. */
  full(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#capacity;
  }

  #refill(now: number): void {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#perMs);
    }
    this.#at = Math.max(this.#at, now);
  }
}

/** Token buckets by key, forgetting full ones (they equal fresh ones) so memory stays bounded. */
class RateTable {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, TokenBucket>();
  #swept = 0;

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Take one for `key`: undefined when allowed, else milliseconds to wait. */
  take(key: string, now: number): number | undefined {
    this.#sweep(now);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.#perMinute, this.#perMinute / 60_000, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now) ? undefined : bucket.waitMs(now);
  }

  delete(key: string): void {
    this.#buckets.delete(key);
  }

  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    if (now - this.#swept >= 60_000 || this.#buckets.size >= MAX_KEYS) {
      this.#swept = now;
      for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key);
    }
    // Still full of live buckets (a flood of addresses): forget the oldest.
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size < MAX_KEYS) break;
      this.#buckets.delete(key);
    }
  }
}

/** Counts of things held at once, by key. */
class Counter {
  readonly #counts = new Map<string, number>();

  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  add(key: string): void {
    this.#counts.set(key, this.get(key) + 1);
  }

  remove(key: string): void {
    const n = this.get(key) - 1;
    if (n > 0) this.#counts.set(key, n);
    else this.#counts.delete(key);
  }
}

/** The key per-address limits count under: the IPv4 address, or an IPv6 address's /64. */
export function clientKey(address: string): string {
  const v6 = address.includes(":") ? parseIPv6(address) : undefined;
  if (!v6) return address;
  const hex = Array.from(v6.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex}/64`;
}

/** A refusal, with the one line the client is told. */
export type Verdict = { ok: true } | { ok: false; reason: string };

const OK: Verdict = { ok: true };

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** The relay's limits; see the file comment. */
export class RelayLimits {
  readonly joinsPerIpPerMinute: number;
  readonly joinsPerCodePerMinute: number;
  readonly sessionsPerIp: number;
  readonly connectionsPerIp: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly #now: () => number;
  readonly #joinsByIp: RateTable;
  readonly #joinsByCode: RateTable;
  readonly #sessions = new Counter();
  readonly #connections = new Counter();

  constructor(options: RelayLimitsOptions = {}) {
    this.joinsPerIpPerMinute = positiveInteger(
      options.joinsPerIpPerMinute ?? 20,
      "joinsPerIpPerMinute",
    );
    this.joinsPerCodePerMinute = positiveInteger(
      options.joinsPerCodePerMinute ?? 30,
      "joinsPerCodePerMinute",
    );
    this.sessionsPerIp = positiveInteger(options.sessionsPerIp ?? 16, "sessionsPerIp");
    this.connectionsPerIp = positiveInteger(options.connectionsPerIp ?? 64, "connectionsPerIp");
    this.messagesPerSecond = positiveInteger(options.messagesPerSecond ?? 50, "messagesPerSecond");
    this.messageBurst = positiveInteger(options.messageBurst ?? 200, "messageBurst");
    this.#now = options.now ?? Date.now;
    this.#joinsByIp = new RateTable(this.joinsPerIpPerMinute);
    this.#joinsByCode = new RateTable(this.joinsPerCodePerMinute);
  }

  /** One join attempt from `address`. */
  joinFrom(address: string): Verdict {
    const wait = this.#joinsByIp.take(clientKey(address), this.#now());
    if (wait === undefined) return OK;
    return {
      ok: false,
      reason: `too many join attempts from ${address} (at most ${this.joinsPerIpPerMinute} a ` +
        `minute); try again in ${Math.ceil(wait / 1000)} s`,
    };
  }

  /** One join attempt at the live session `name`. */
  joinCode(name: string): Verdict {
    const wait = this.#joinsByCode.take(name, this.#now());
    if (wait === undefined) return OK;
    return {
      ok: false,
      reason: `too many join attempts for code ${name} (at most ${this.joinsPerCodePerMinute} ` +
        `a minute); try again in ${Math.ceil(wait / 1000)} s`,
    };
  }

  /** The session `name` ended: forget its join bucket. */
  forgetCode(name: string): void {
    this.#joinsByCode.delete(name);
  }

  /** Hold one session for `address`, or say why not. Release with {@link releaseSession}. */
  holdSession(address: string): Verdict {
    const key = clientKey(address);
    if (this.#sessions.get(key) >= this.sessionsPerIp) {
      return {
        ok: false,
        reason: `too many sessions from ${address} (at most ${this.sessionsPerIp} at once)`,
      };
    }
    this.#sessions.add(key);
    return OK;
  }

  releaseSession(address: string): void {
    this.#sessions.remove(clientKey(address));
  }

  /** Hold one connection for `address`, or say why not. Release with {@link releaseConnection}. */
  holdConnection(address: string): Verdict {
    const key = clientKey(address);
    if (this.#connections.get(key) >= this.connectionsPerIp) {
      return {
        ok: false,
        reason: `too many connections from ${address} (at most ${this.connectionsPerIp} at once)`,
      };
    }
    this.#connections.add(key);
    return OK;
  }

  releaseConnection(address: string): void {
    this.#connections.remove(clientKey(address));
  }

  /** A per-connection message meter: `take()` is false once the connection floods. */
  messageMeter(): { take(): boolean; readonly reason: string } {
    const bucket = new TokenBucket(this.messageBurst, this.messagesPerSecond / 1000, this.#now());
    const now = this.#now;
    return {
      take: () => bucket.take(now()),
      reason: `too many messages (at most ${this.messagesPerSecond} a second, ` +
        `${this.messageBurst} at once)`,
    };
  }
}
