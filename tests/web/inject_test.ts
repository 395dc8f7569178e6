/** The frame script goes first into proxied HTML, after any doctype (lib/web/guest/inject.ts). */
import { assertEquals } from "../_util/assert.ts";
import { FRAME_SCRIPT, injectFrameScript } from "../../lib/web/guest/inject.ts";

async function run(chunks: string[]): Promise<string> {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
  return await new Response(injectFrameScript(body)).text();
}

const cases: [string, string[], string][] = [
  ["after a doctype", ["<!DOCTYPE html><html>"], `<!DOCTYPE html>${FRAME_SCRIPT}<html>`],
  [
    "after a lower-case doctype with spaces before it",
    ["  <!doctype html>\n<p>x"],
    `  <!doctype html>${FRAME_SCRIPT}\n<p>x`,
  ],
  ["before everything without a doctype", ["<html><head>"], `${FRAME_SCRIPT}<html><head>`],
  [
    "across chunks that split the doctype",
    ["<!DOC", "TYPE ht", "ml><body>", "x"],
    `<!DOCTYPE html>${FRAME_SCRIPT}<body>x`,
  ],
  ["into an empty document", [], FRAME_SCRIPT],
  [
    "after a byte-order mark and doctype",
    ["\uFEFF<!doctype html><p>"],
    `<!doctype html>${FRAME_SCRIPT}<p>`,
  ],
];

for (const [name, chunks, want] of cases) {
  Deno.test(`the frame script is inserted ${name}`, async () => {
    assertEquals(await run(chunks), want);
  });
}

Deno.test("a large document passes through intact apart from the script", async () => {
  const big = "<!doctype html>" + "x".repeat(1 << 20);
  const out = await run([big.slice(0, 7), big.slice(7, 5000), big.slice(5000)]);
  assertEquals(out, "<!doctype html>" + FRAME_SCRIPT + "x".repeat(1 << 20));
});
