/**
 * Which stream numbers a host has taken already, so a relay cannot replay a
 * recorded relay-mode stream (sealed.ts): a number is taken once. The guest
 * numbers streams upwards, but opens many at once, so they may arrive a
 * little out of order: numbers up to `size` below the highest seen are still
 * taken if new; older ones are refused (RFC 4303 §3.4.3 does the same for
 * IPsec sequence numbers). Memory stays within `size` entries.
 */
export class ReplayWindow {
  readonly #size: number;
  #highest = -1;
  readonly #seen = new Set<number>();

  /** `size`: how far below the highest number a late one is still taken. Default 4096. */
  constructor(size = 4096) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`bad window size ${size}`);
    this.#size = size;
  }

  /** Whether `n` is new and not too old; if so it is taken. */
  take(n: number): boolean {
    if (!Number.isSafeInteger(n) || n < 0) return false;
    if (n <= this.#highest - this.#size || this.#seen.has(n)) return false;
    this.#seen.add(n);
    if (n > this.#highest) {
      this.#highest = n;
      if (this.#seen.size > this.#size) {
        for (const old of this.#seen) if (old <= this.#highest - this.#size) this.#seen.delete(old);
      }
    }
    return true;
  }
}
