/** httpRequest's use of its stream: what it writes, and when it closes its side. */
import assert from "node:assert/strict";
import { HttpEncodeError, httpRequest } from "../../../lib/web/http/mod.ts";
import { bytes, concat, readAll, text } from "./_helpers.ts";

/** A stream whose written bytes and ending are recorded, and whose response we feed by hand. */
function fakeStream() {
  const written: Uint8Array[] = [];
  const events: string[] = [];
  let respond!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      respond = c;
    },
    cancel() {
      events.push("readable cancelled");
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      written.push(chunk.slice());
    },
    close() {
      events.push("writable closed");
    },
    abort() {
      events.push("writable aborted");
    },
  });
  return {
    stream: { readable, writable },
    written,
    events,
    respond: (s: string) => respond.enqueue(bytes(s)),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("httpRequest writes head and body, and closes its side only once the response is read", async () => {
  const fake = fakeStream();
  const pending = httpRequest(() => Promise.resolve(fake.stream), {
    method: "POST",
    target: "/submit?x=1",
    headers: [["Host", "localhost:3000"], ["Content-Type", "text/plain"]],
    body: bytes("hi there"),
  });
  await tick();
  assert.equal(
    text(concat(fake.written)),
    "POST /submit?x=1 HTTP/1.1\r\nHost: localhost:3000\r\nContent-Type: text/plain\r\n" +
      "Connection: close\r\nContent-Length: 8\r\n\r\nhi there",
  );
  assert.deepEqual(fake.events, [], "no half-close while the server is still to answer");

  fake.respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
  const res = await pending;
  await tick();
  assert.deepEqual(fake.events, []);
  fake.respond("ok");
  assert.equal(text(await readAll(res.body!)), "ok");
  await tick();
  assert.deepEqual(fake.events, ["writable closed", "readable cancelled"]);
});

Deno.test("httpRequest abandons a body the server answered before reading", async () => {
  const fake = fakeStream();
  let release!: () => void;
  const stuck = new Promise<void>((resolve) => release = resolve);
  let writes = 0;
  const slowWritable = new WritableStream<Uint8Array>({
    write: () => (writes++, stuck), // the server reads nothing
    abort() {
      fake.events.push("writable aborted");
    },
  });
  const pending = httpRequest(
    () => Promise.resolve({ readable: fake.stream.readable, writable: slowWritable }),
    {
      method: "PUT",
      target: "/big",
      headers: [["Host", "h"]],
      body: new Uint8Array(1024 * 1024),
    },
  );
  fake.respond("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
  const res = await pending;
  assert.equal(res.status, 413);
  await readAll(res.body!);
  release(); // a stream aborts only once the write in flight is over
  await tick();
  assert.ok(fake.events.includes("writable aborted"));
  assert.equal(writes, 1, "only the head went out");
});

Deno.test("httpRequest checks the request before opening a stream", async () => {
  let opened = false;
  const open = () => {
    opened = true;
    return Promise.resolve(fakeStream().stream);
  };
  await assert.rejects(
    httpRequest(open, { method: "GET", target: "/a b", headers: [["Host", "h"]], body: null }),
    HttpEncodeError,
  );
  assert.equal(opened, false);
});
