/**
 * Response parsing for every framing, fed whole, one byte at a time, cut at
 * every position and in seeded random pieces: the answer never depends on
 * where the reads happened to split.
 */
import assert from "node:assert/strict";
import {
  HttpParseError,
  readResponse,
  type ReadResponseOptions,
} from "../../../lib/web/http/mod.ts";
import { bytes, feed, feedSplit, prng, readAll, text } from "./_helpers.ts";

interface Sample {
  name: string;
  method?: string;
  wire: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  /** Null: no body stream at all. */
  body: string | null;
}

const samples: Sample[] = [
  {
    name: "a Content-Length body",
    wire: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
    status: 200,
    statusText: "OK",
    headers: [["Content-Type", "text/plain"], ["Content-Length", "11"]],
    body: "hello world",
  },
  {
    name: "a chunked body with extensions and trailers",
    wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
      '5;name=value\r\nhello\r\n6 ; a="b;c" ; d\r\n world\r\nA\r\n0123456789\r\n000;last\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n',
    status: 200,
    statusText: "OK",
    headers: [],
    body: "hello world0123456789",
  },
  {
    name: "a close-delimited body",
    wire:
      "HTTP/1.0 200 Fine\r\nContent-Type: text/html\r\n\r\nuntil the stream ends\r\n\r\nand more",
    status: 200,
    statusText: "Fine",
    headers: [["Content-Type", "text/html"]],
    body: "until the stream ends\r\n\r\nand more",
  },
  {
    name: "100 Continue and 103 Early Hints before the response",
    wire:
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
      "HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nok",
    status: 201,
    statusText: "Created",
    headers: [["Location", "/x"], ["Content-Length", "2"]],
    body: "ok",
  },
  {
    name: "lines ended by a bare LF",
    wire: "HTTP/1.1 200 OK\nX-A:  spaced \t\nContent-Length: 3\n\nabc",
    status: 200,
    statusText: "OK",
    headers: [["X-A", "spaced"], ["Content-Length", "3"]],
    body: "abc",
  },
  {
    name: "a response to HEAD, whose Content-Length describes a body never sent",
    method: "HEAD",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
    status: 200,
    statusText: "OK",
    headers: [["Content-Length", "1000"]],
    body: null,
  },
  {
    name: "a 204, which has no body whatever it says",
    wire: "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
    status: 204,
    statusText: "No Content",
    headers: [["X-A", "1"]],
    body: null,
  },
  {
    name: "a 304, which has no body whatever it says",
    wire: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 50\r\n\r\n',
    status: 304,
    statusText: "Not Modified",
    headers: [["ETag", '"x"'], ["Content-Length", "50"]],
    body: null,
  },
  {
    name: "hop-by-hop fields, including those Connection names",
    wire: "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n" +
      "Upgrade: h2c\r\nX-End: 2\r\nContent-Length: 0\r\n\r\n",
    status: 200,
    statusText: "OK",
    headers: [["X-End", "2"], ["Content-Length", "0"]],
    body: "",
  },
  {
    name: "bytes after a Content-Length body, which are not part of it",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\nsmuggled",
    status: 200,
    statusText: "OK",
    headers: [["Content-Length", "2"]],
    body: "ok",
  },
  {
    name: "chunked and Content-Length together: chunked wins and Content-Length goes",
    wire:
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    status: 200,
    statusText: "OK",
    headers: [],
    body: "hi",
  },
  {
    name: "a repeated identical Content-Length",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc",
    status: 200,
    statusText: "OK",
    headers: [["Content-Length", "3, 3"], ["content-length", "3"]],
    body: "abc",
  },
  {
    name: "a status line without a reason phrase",
    wire: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
    status: 404,
    statusText: "",
    headers: [["Content-Length", "0"]],
    body: "",
  },
  {
    name: "a reason phrase with obs-text and a tab",
    wire: "HTTP/1.1 200 \xc7a\tva\r\nContent-Length: 0\r\n\r\n",
    status: 200,
    statusText: "\xc7a\tva",
    headers: [["Content-Length", "0"]],
    body: "",
  },
];

async function parse(stream: ReadableStream<Uint8Array>, opts: ReadResponseOptions) {
  const res = await readResponse(stream, opts);
  const body = res.body === null ? null : text(await readAll(res.body));
  return { status: res.status, statusText: res.statusText, headers: res.headers, body };
}

function expected(s: Sample) {
  return { status: s.status, statusText: s.statusText, headers: s.headers, body: s.body };
}

for (const s of samples) {
  const opts = { method: s.method ?? "GET" };
  Deno.test(`readResponse parses ${s.name}, whole and one byte at a time`, async () => {
    const wire = bytes(s.wire);
    assert.deepEqual(await parse(feed(wire).readable, opts), expected(s));
    assert.deepEqual(await parse(feed(wire, 1).readable, opts), expected(s));
  });

  Deno.test(`readResponse parses ${s.name}, cut at every position`, async () => {
    const wire = bytes(s.wire);
    for (let cut = 1; cut < wire.length; cut++) {
      assert.deepEqual(await parse(feedSplit(wire, [cut]), opts), expected(s), `cut at ${cut}`);
    }
  });

  Deno.test(`readResponse parses ${s.name}, in seeded random pieces`, async () => {
    const wire = bytes(s.wire);
    for (let seed = 1; seed <= 100; seed++) {
      const rand = prng(seed);
      const got = await parse(feed(wire, () => 1 + Math.floor(rand() * 12)).readable, opts);
      assert.deepEqual(got, expected(s), `seed ${seed}`);
    }
  });
}

Deno.test("readResponse cancels the stream once the body is complete", async () => {
  const src = feed(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokjunk"), 3);
  const res = await readResponse(src.readable, { method: "GET" });
  assert.equal(text(await readAll(res.body!)), "ok");
  assert.ok(src.cancelled, "the rest of the stream is not ours");
});

Deno.test("readResponse cancels the stream at once when the response has no body", async () => {
  const src = feed(bytes("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"));
  const res = await readResponse(src.readable, { method: "GET" });
  assert.equal(res.body, null);
  assert.ok(src.cancelled);
});

/** Heads that must be refused, and the field the error names. */
const badHeads: {
  name: string;
  wire: string;
  field: string;
  message?: RegExp;
  maxHeadBytes?: number;
}[] = [
  { name: "an empty stream", wire: "", field: "status line", message: /ended before a response/ },
  { name: "an HTTP/2 status line", wire: "HTTP/2 200 OK\r\n\r\n", field: "status line" },
  { name: "HTTP/0.9 content", wire: "<html>hello</html>\r\n", field: "status line" },
  { name: "a two-digit status", wire: "HTTP/1.1 20 OK\r\n\r\n", field: "status line" },
  {
    name: "a status above 599",
    wire: "HTTP/1.1 600 X\r\n\r\n",
    field: "status line",
    message: /out of range/,
  },
  { name: "a status below 100", wire: "HTTP/1.1 099 X\r\n\r\n", field: "status line" },
  { name: "two spaces after the version", wire: "HTTP/1.1  200 OK\r\n\r\n", field: "status line" },
  {
    name: "a control character in the reason",
    wire: "HTTP/1.1 200 O\x01K\r\n\r\n",
    field: "status line",
  },
  {
    name: "101 Switching Protocols",
    wire: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    field: "status",
    message: /WebSockets and other upgrades cannot be proxied/,
  },
  {
    name: "a folded header",
    wire: "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n",
    field: "header",
    message: /folding/,
  },
  {
    name: "whitespace before a colon",
    wire: "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
    field: "header",
  },
  { name: "a header without a colon", wire: "HTTP/1.1 200 OK\r\nX-A\r\n\r\n", field: "header" },
  { name: "a header without a name", wire: "HTTP/1.1 200 OK\r\n: 1\r\n\r\n", field: "header" },
  { name: "NUL in a value", wire: "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", field: "X-A" },
  { name: "a bare CR in a value", wire: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", field: "X-A" },
  {
    name: "a stream ending inside the head",
    wire: "HTTP/1.1 200 OK\r\nX-A: 1\r\n",
    field: "header",
  },
  { name: "a stream ending mid-line", wire: "HTTP/1.1 200 OK\r\nX-A: 1", field: "header" },
  {
    name: "conflicting Content-Length fields",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    field: "Content-Length",
    message: /conflicting/,
  },
  {
    name: "a conflicting Content-Length list",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
    field: "Content-Length",
    message: /conflicting/,
  },
  {
    name: "a negative Content-Length",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    field: "Content-Length",
  },
  {
    name: "a Content-Length in hex",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
    field: "Content-Length",
  },
  {
    name: "a Content-Length beyond 2^53",
    wire: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
    field: "Content-Length",
  },
  {
    name: "a transfer coding other than chunked",
    wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    field: "Transfer-Encoding",
  },
  {
    name: "chunked applied twice",
    wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    field: "Transfer-Encoding",
  },
  {
    name: "a head larger than maxHeadBytes",
    wire: `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(200)}\r\n\r\n`,
    field: "head",
    message: /too large \(over 100 bytes\)/,
    maxHeadBytes: 100,
  },
  {
    name: "interim heads that add up past maxHeadBytes",
    wire: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n".repeat(10) + "HTTP/1.1 200 OK\r\n\r\n",
    field: "head",
    maxHeadBytes: 200,
  },
];

for (const c of badHeads) {
  Deno.test(`readResponse refuses ${c.name}`, async () => {
    for (const size of [1, 7, Infinity]) {
      const src = feed(bytes(c.wire), Math.min(size, c.wire.length || 1));
      const opts = { method: "GET", maxHeadBytes: c.maxHeadBytes };
      await assert.rejects(readResponse(src.readable, opts), (err: unknown) => {
        assert.ok(err instanceof HttpParseError, `expected HttpParseError, got ${err}`);
        assert.equal(err.field, c.field, err.message);
        if (c.message) assert.match(err.message, c.message);
        return true;
      });
      assert.ok(src.released, "a refused response releases its stream");
    }
  });
}

Deno.test("readResponse takes a head exactly maxHeadBytes long", async () => {
  const head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const res = await readResponse(feed(bytes(head), 1).readable, {
    method: "GET",
    maxHeadBytes: head.length,
  });
  assert.equal(res.status, 200);
  const over = readResponse(feed(bytes(head)).readable, {
    method: "GET",
    maxHeadBytes: head.length - 1,
  });
  await assert.rejects(over, /too large/);
});

/** Bodies that must error the stream, after delivering what came before the fault. */
const badBodies: { name: string; wire: string; field: string; before: string; message?: RegExp }[] =
  [
    {
      name: "a body shorter than its Content-Length",
      wire: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
      field: "body",
      before: "abc",
      message: /after 3 of 10 bytes/,
    },
    {
      name: "a chunk size that is not hex",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n",
      field: "chunk size",
      before: "ok",
    },
    {
      name: "an empty chunk size",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
      field: "chunk size",
      before: "",
    },
    {
      name: "a negative chunk size",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
      field: "chunk size",
      before: "",
    },
    {
      name: "a chunk size beyond 2^52",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000\r\n",
      field: "chunk size",
      before: "",
      message: /too large/,
    },
    {
      name: "a chunk-size line longer than 4 KiB",
      wire: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${"x".repeat(5000)}\r\n`,
      field: "chunk size",
      before: "",
    },
    {
      name: "chunk data longer than its size",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
      field: "chunk data",
      before: "abc",
    },
    {
      name: "a chunked body cut inside chunk data",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
      field: "body",
      before: "ab",
    },
    {
      name: "a chunked body cut before the last chunk",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
      field: "body",
      before: "ab",
    },
    {
      name: "a chunked body cut before the end of its trailers",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n",
      field: "body",
      before: "ab",
    },
    {
      name: "folded trailers",
      wire: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n 2\r\n\r\n",
      field: "trailers",
      before: "",
    },
  ];

for (const c of badBodies) {
  Deno.test(`readResponse errors the body for ${c.name}`, async () => {
    for (const size of [1, 5, Infinity]) {
      const src = feed(bytes(c.wire), Math.min(size, c.wire.length));
      const res = await readResponse(src.readable, { method: "GET" });
      const got: Uint8Array[] = [];
      const reader = res.body!.getReader();
      const err = await (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return null;
          got.push(value);
        }
      })().catch((e) => e);
      assert.ok(err instanceof HttpParseError, `expected HttpParseError, got ${err}`);
      assert.equal(err.field, c.field, err.message);
      if (c.message) assert.match(err.message, c.message);
      assert.equal(got.map(text).join(""), c.before);
      assert.ok(src.released);
    }
  });
}
