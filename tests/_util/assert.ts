/** Small assertions on top of node:assert (JSR's @std/assert is unreachable here). */
import assert from "node:assert/strict";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

export function assert_(cond: unknown, message?: string): asserts cond {
  assert.ok(cond, message);
}
export { assert_ as assert };

// deno-lint-ignore no-explicit-any
export function assertThrows<E extends Error>(fn: () => unknown, cls: new (...a: any[]) => E): E {
  try {
    fn();
  } catch (err) {
    if (err instanceof cls) return err;
    throw new Error(`expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${err}`);
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}

export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls: new (...a: any[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof cls) return err;
    throw new Error(`expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${err}`);
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}
