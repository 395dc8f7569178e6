/**
 * Content-Encoding: with `decode`, what the page gets is what the app meant,
 * because a Response built in a Service Worker is never decoded by the browser.
 */
import assert from "node:assert/strict";
import { HttpParseError, readResponse } from "../../../lib/web/http/mod.ts";
import { bytes, compress, concat, feed, prng, randomBytes, readAll } from "./_helpers.ts";

/** Compressible but not trivial: text with some randomness in it. */
function sample(): Uint8Array {
  const rand = prng(7);
  const words = ["tunnel", "relay", "peer", "stream", "chunk", "cookie"];
  let out = "";
  while (out.length < 50_000) out += words[Math.floor(rand() * words.length)] + " ";
  return bytes(out);
}

/** Content-Length framing, then chunked framing in 1000-byte chunks. */
function framings(payload: Uint8Array, extra: string): [string, Uint8Array][] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += 1000) {
    const part = payload.subarray(at, at + 1000);
    chunks.push(bytes(`${part.length.toString(16)}\r\n`), part, bytes("\r\n"));
  }
  return [
    [
      "Content-Length",
      concat([
        bytes(`HTTP/1.1 200 OK\r\n${extra}Content-Length: ${payload.length}\r\n\r\n`),
        payload,
      ]),
    ],
    [
      "chunked",
      concat([
        bytes(`HTTP/1.1 200 OK\r\n${extra}Transfer-Encoding: chunked\r\n\r\n`),
        ...chunks,
        bytes("0\r\n\r\n"),
      ]),
    ],
  ];
}

const formats: [string, CompressionFormat][] = [["gzip", "gzip"], ["x-gzip", "gzip"], [
  "deflate",
  "deflate",
]];
if (supports("brotli")) formats.push(["br", "brotli" as CompressionFormat]);

function supports(format: string): boolean {
  try {
    new CompressionStream(format as CompressionFormat);
    new DecompressionStream(format as CompressionFormat);
    return true;
  } catch {
    return false;
  }
}

for (const [coding, format] of formats) {
  Deno.test(`readResponse decodes Content-Encoding: ${coding}, by length and chunked`, async () => {
    const plain = sample();
    const encoded = await compress(plain, format);
    assert.ok(encoded.length < plain.length / 2);
    for (const [framing, wire] of framings(encoded, `Content-Encoding: ${coding}\r\nX-A: 1\r\n`)) {
      const res = await readResponse(feed(wire, 777).readable, { method: "GET", decode: true });
      assert.deepEqual(res.headers, [["X-A", "1"]], framing);
      assert.deepEqual(await readAll(res.body!), plain, framing);
    }
  });
}

Deno.test("readResponse decodes stacked codings, last applied first", async () => {
  const plain = sample();
  const twice = await compress(await compress(plain, "deflate"), "gzip");
  const [, wire] = framings(twice, "Content-Encoding: deflate\r\nContent-Encoding: gzip\r\n")[0];
  const res = await readResponse(feed(wire).readable, { method: "GET", decode: true });
  assert.deepEqual(await readAll(res.body!), plain);
});

Deno.test("readResponse without decode leaves the body and its headers as the server sent them", async () => {
  const encoded = await compress(sample(), "gzip");
  const [, wire] = framings(encoded, "Content-Encoding: gzip\r\n")[0];
  const res = await readResponse(feed(wire).readable, { method: "GET" });
  assert.deepEqual(res.headers, [["Content-Encoding", "gzip"], [
    "Content-Length",
    String(encoded.length),
  ]]);
  assert.deepEqual(await readAll(res.body!), encoded);
});

Deno.test("readResponse leaves a coding it cannot decode alone, headers included", async () => {
  const payload = randomBytes(prng(1), 100);
  const [, wire] = framings(payload, "Content-Encoding: gzip, zstd\r\n")[0];
  const res = await readResponse(feed(wire).readable, { method: "GET", decode: true });
  assert.deepEqual(res.headers, [["Content-Encoding", "gzip, zstd"], ["Content-Length", "100"]]);
  assert.deepEqual(await readAll(res.body!), payload);
});

Deno.test("readResponse drops the coding's headers for a HEAD response it would have decoded", async () => {
  const wire = bytes(
    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\nETag: x\r\n\r\n",
  );
  const res = await readResponse(feed(wire).readable, { method: "HEAD", decode: true });
  assert.deepEqual(res.headers, [["ETag", "x"]]);
  assert.equal(res.body, null);
});

Deno.test("corrupt gzip errors the body with an HttpParseError naming Content-Encoding", async () => {
  const encoded = await compress(sample(), "gzip");
  encoded[encoded.length >> 1] ^= 0xff;
  encoded[(encoded.length >> 1) + 1] ^= 0xff;
  const [, wire] = framings(encoded, "Content-Encoding: gzip\r\n")[0];
  const res = await readResponse(feed(wire, 1000).readable, { method: "GET", decode: true });
  await assert.rejects(readAll(res.body!), (err: unknown) => {
    assert.ok(err instanceof HttpParseError, `expected HttpParseError, got ${err}`);
    assert.equal(err.field, "Content-Encoding");
    return true;
  });
});

Deno.test("a truncated gzip body errors with the truncation, not a decoding error", async () => {
  const encoded = await compress(sample(), "gzip");
  const [, wire] = framings(encoded, "Content-Encoding: gzip\r\n")[0];
  const cut = wire.subarray(0, wire.length - 20);
  const res = await readResponse(feed(cut, 500).readable, { method: "GET", decode: true });
  await assert.rejects(readAll(res.body!), (err: unknown) => {
    assert.ok(err instanceof HttpParseError, `expected HttpParseError, got ${err}`);
    assert.equal(err.field, "body");
    return true;
  });
});
