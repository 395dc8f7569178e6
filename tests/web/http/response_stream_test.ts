/** The body as a stream: read on demand, cancellable, abortable. */
import assert from "node:assert/strict";
import { readResponse } from "../../../lib/web/http/mod.ts";
import { bytes, compress, concat, feed, text } from "./_helpers.ts";

/** Let pending stream callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

const HEAD = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
const BODY = "x".repeat(1000);

Deno.test("readResponse reads the body only as fast as it is consumed", async () => {
  // The head arrives in one chunk, then the body in 10 chunks of 100 bytes.
  const src = feed(
    bytes(HEAD + BODY),
    (() => {
      let first = true;
      return () => first ? (first = false, HEAD.length) : 100;
    })(),
  );
  const res = await readResponse(src.readable, { method: "GET" });
  await settle();
  assert.equal(src.delivered, 1, "nothing of the body is read before it is asked for");

  const reader = res.body!.getReader();
  assert.equal((await reader.read()).value!.length, 100);
  await settle();
  assert.equal(src.delivered, 2, "one read of the body, one read of the stream");
  assert.equal((await reader.read()).value!.length, 100);
  await settle();
  assert.equal(src.delivered, 3);
  await reader.cancel();
});

Deno.test("readResponse hands over body bytes that came in the same read as the head", async () => {
  const src = feed(bytes(HEAD + BODY));
  const res = await readResponse(src.readable, { method: "GET" });
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.equal(text(first.value!), BODY);
  assert.equal(src.delivered, 1);
  assert.equal((await reader.read()).done, true);
});

Deno.test("cancelling the body cancels the underlying stream with the same reason", async () => {
  const src = feed(bytes(HEAD + BODY), 100);
  const res = await readResponse(src.readable, { method: "GET" });
  const reader = res.body!.getReader();
  await reader.read();
  const reason = new Error("page went away");
  await reader.cancel(reason);
  assert.equal(src.cancelled?.reason, reason);
});

Deno.test("cancelling a decoded body cancels the underlying stream", async () => {
  const gzip = await compress(bytes(BODY), "gzip");
  const wire = concat([
    bytes(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gzip.length}\r\n\r\n`),
    gzip,
  ]);
  const src = feed(wire, 10);
  const res = await readResponse(src.readable, { method: "GET", decode: true });
  await res.body!.cancel(new Error("stop"));
  await settle();
  assert.ok(src.cancelled, "cancel reaches the connection through the decompressor");
});

Deno.test("aborting before the head arrives rejects with the signal's reason and cancels the stream", async () => {
  let cancelled = false;
  const never = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true;
    },
  });
  const ctl = new AbortController();
  const pending = readResponse(never, { method: "GET", signal: ctl.signal });
  const reason = new Error("navigated away");
  ctl.abort(reason);
  await assert.rejects(pending, (err) => err === reason);
  assert.ok(cancelled);
});

Deno.test("aborting while the body streams errors the body with the signal's reason", async () => {
  const src = feed(bytes(HEAD + BODY), 100);
  const ctl = new AbortController();
  const res = await readResponse(src.readable, { method: "GET", signal: ctl.signal });
  const reader = res.body!.getReader();
  await reader.read();
  ctl.abort(new Error("stop"));
  await assert.rejects(reader.read(), /stop/);
  assert.ok(src.cancelled);
});

Deno.test("readResponse refuses a maxHeadBytes that is not a positive integer", async () => {
  for (const maxHeadBytes of [0, -1, 1.5, NaN]) {
    await assert.rejects(
      readResponse(feed(bytes(HEAD)).readable, { method: "GET", maxHeadBytes }),
      RangeError,
    );
  }
});
