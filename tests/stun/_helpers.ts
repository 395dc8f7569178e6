/** Small helpers shared by the STUN tests. */
import assert from "node:assert/strict";
import { StunDecodeError } from "../../lib/stun/mod.ts";

/** Bytes from a hex dump; whitespace (the RFC's column layout) is ignored. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  assert.equal(digits.length % 2, 0, "hex dump has an odd number of digits");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Hex text for bytes, for readable assertion failures. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Assert `fn` throws a StunDecodeError whose field is `field`. */
export function assertDecodeError(fn: () => unknown, field: string, what = ""): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StunDecodeError, `${what}: expected StunDecodeError, got ${err}`);
    assert.equal(err.field, field, what);
    return true;
  });
}

/** mulberry32, shared by every fuzz test (tests/_util/prng.ts). Returns [0, 1). */
export { prng as mulberry32 } from "../_util/prng.ts";
