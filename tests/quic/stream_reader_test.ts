/** Reading a protocol prefix off a stream (lib/quic/stream_reader.ts). */
import { assert, assertEquals } from "../_util/assert.ts";
import { PrefixReader } from "../../lib/quic/stream_reader.ts";

/** A stream of `chunks`: a byte stream (as Deno's QUIC streams are) or a plain one. */
function streamOf(chunks: number[][], bytes: boolean): ReadableStream<Uint8Array> {
  const queue = chunks.map((c) => new Uint8Array(c));
  if (!bytes) {
    return new ReadableStream({
      pull(c) {
        const next = queue.shift();
        if (next) c.enqueue(next);
        else c.close();
      },
    });
  }
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      const next = queue.shift();
      if (next) return c.enqueue(next);
      c.close();
      c.byobRequest?.respond(0);
    },
  });
}

async function all(readable: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of readable) out.push(...chunk);
  return out;
}

for (const bytes of [true, false]) {
  const kind = bytes ? "a byte stream" : "a plain stream";
  Deno.test(`on ${kind}, a prefix split over chunks is read whole and the rest follows intact`, async () => {
    const r = new PrefixReader(streamOf([[1], [2, 3], [4, 5, 6, 7]], bytes));
    assertEquals([...(await r.read(4))!], [1, 2, 3, 4]);
    assertEquals(await all(r.rest()), [5, 6, 7]);
  });

  Deno.test(`on ${kind}, a stream that ends inside the prefix reads as null`, async () => {
    const r = new PrefixReader(streamOf([[1, 2]], bytes));
    assertEquals(await r.read(3), null);
  });
}

Deno.test("on a byte stream the rest is the stream itself: nothing was read ahead", async () => {
  const stream = streamOf([[0, 9, 9, 9]], true);
  const r = new PrefixReader(stream);
  assertEquals(await r.byte(), 0);
  const rest = r.rest();
  assert(rest === stream, "rest() handed back a wrapper");
  assertEquals(await all(rest), [9, 9, 9]);
});
