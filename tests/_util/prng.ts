/** mulberry32: a tiny seeded PRNG so fuzz tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random bytes from a seeded generator. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

/** A mutated copy: bit flips, truncation, or appended junk. */
export function mutate(rand: () => number, input: Uint8Array): Uint8Array {
  const kind = (rand() * 4) | 0;
  if (kind === 0 && input.length > 0) return input.slice(0, (rand() * input.length) | 0);
  if (kind === 1) {
    const extra = randomBytes(rand, 1 + ((rand() * 16) | 0));
    const out = new Uint8Array(input.length + extra.length);
    out.set(input);
    out.set(extra, input.length);
    return out;
  }
  const out = input.slice();
  const flips = 1 + ((rand() * 4) | 0);
  for (let i = 0; i < flips && out.length > 0; i++) {
    out[(rand() * out.length) | 0] ^= 1 << ((rand() * 8) | 0);
  }
  return out;
}
