/** ReplayWindow (lib/quic/replay_window.ts): each stream number is taken once, late ones within the window. */
import { assert, assertEquals } from "../_util/assert.ts";
import { ReplayWindow } from "../../lib/quic/replay_window.ts";

Deno.test("a stream number is taken once, in order or a little out of order", () => {
  const w = new ReplayWindow(8);
  assertEquals([0, 2, 1, 1, 2, 0].map((n) => w.take(n)), [true, true, true, false, false, false]);
});

Deno.test("numbers that fell out of the window are refused; bad numbers too", () => {
  const w = new ReplayWindow(8);
  assert(w.take(100));
  assert(!w.take(92), "exactly the window size below the highest");
  assert(w.take(93), "just inside the window, and new");
  assert(!w.take(3));
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) assert(!w.take(bad), String(bad));
});

Deno.test("memory stays within the window however many streams go by", () => {
  const w = new ReplayWindow(64);
  for (let n = 0; n < 100_000; n++) assert(w.take(n));
  for (let n = 99_937; n < 100_000; n++) assert(!w.take(n), `replayed ${n}`);
});
