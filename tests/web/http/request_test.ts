/** Request heads: what goes on the wire, and what is refused before it gets there. */
import assert from "node:assert/strict";
import { encodeRequestHead, HttpEncodeError, type RequestHead } from "../../../lib/web/http/mod.ts";
import { text } from "./_helpers.ts";

const HOST: [string, string] = ["Host", "localhost:3000"];

const encodings: { name: string; req: RequestHead; wire: string }[] = [
  {
    name: "a GET has no Content-Length and always says Connection: close",
    req: { method: "GET", target: "/a?b=c", headers: [HOST, ["Accept", "*/*"]], bodyLength: null },
    wire: "GET /a?b=c HTTP/1.1\r\nHost: localhost:3000\r\nAccept: */*\r\nConnection: close\r\n\r\n",
  },
  {
    name: "a body's length becomes Content-Length",
    req: { method: "PUT", target: "/x", headers: [HOST], bodyLength: 1234 },
    wire:
      "PUT /x HTTP/1.1\r\nHost: localhost:3000\r\nConnection: close\r\nContent-Length: 1234\r\n\r\n",
  },
  {
    name: "a POST without a body says Content-Length: 0",
    req: { method: "POST", target: "/", headers: [HOST], bodyLength: null },
    wire:
      "POST / HTTP/1.1\r\nHost: localhost:3000\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
  },
  {
    name: "a PATCH with an empty body says Content-Length: 0",
    req: { method: "PATCH", target: "/", headers: [HOST], bodyLength: 0 },
    wire:
      "PATCH / HTTP/1.1\r\nHost: localhost:3000\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
  },
  {
    name: "the caller's framing and hop-by-hop fields are dropped, with those Connection names",
    req: {
      method: "POST",
      target: "/",
      headers: [
        HOST,
        ["connection", "keep-alive, X-Hop"],
        ["Keep-Alive", "timeout=5"],
        ["Transfer-Encoding", "chunked"],
        ["TE", "trailers"],
        ["Upgrade", "websocket"],
        ["Proxy-Connection", "keep-alive"],
        ["Trailer", "X-T"],
        ["Content-Length", "999"],
        ["X-Hop", "1"],
        ["X-Kept", "2"],
      ],
      bodyLength: 3,
    },
    wire:
      "POST / HTTP/1.1\r\nHost: localhost:3000\r\nX-Kept: 2\r\nConnection: close\r\nContent-Length: 3\r\n\r\n",
  },
  {
    name: "values lose surrounding whitespace and keep Latin-1 bytes",
    req: {
      method: "GET",
      target: "/",
      headers: [HOST, ["X-A", " \tcaf\u00e9 \t"]],
      bodyLength: null,
    },
    wire: "GET / HTTP/1.1\r\nHost: localhost:3000\r\nX-A: caf\u00e9\r\nConnection: close\r\n\r\n",
  },
];

for (const { name, req, wire } of encodings) {
  Deno.test(`encodeRequestHead: ${name}`, () => {
    const out = encodeRequestHead(req);
    assert.equal(String.fromCharCode(...out), wire);
  });
}

Deno.test("encodeRequestHead: a Latin-1 value is one byte per character, not UTF-8", () => {
  const out = encodeRequestHead({
    method: "GET",
    target: "/",
    headers: [HOST, ["X", "\u00e9"]],
    bodyLength: null,
  });
  assert.ok(out.includes(0xe9));
  assert.ok(!text(out).includes("\u00e9")); // 0xe9 alone is not valid UTF-8
});

const base = (): RequestHead => ({ method: "GET", target: "/", headers: [HOST], bodyLength: null });
const rejections: { name: string; req: RequestHead; field: string }[] = [
  { name: "a method with a space", req: { ...base(), method: "GE T" }, field: "method" },
  { name: "an empty method", req: { ...base(), method: "" }, field: "method" },
  { name: "a method with CRLF", req: { ...base(), method: "GET\r\n" }, field: "method" },
  {
    name: "a target not starting with /",
    req: { ...base(), target: "http://x/" },
    field: "target",
  },
  { name: "a target with a space", req: { ...base(), target: "/a b" }, field: "target" },
  { name: "a target with CR LF", req: { ...base(), target: "/a\r\nX: y" }, field: "target" },
  { name: "a target with NUL", req: { ...base(), target: "/a\0" }, field: "target" },
  { name: "a target with DEL", req: { ...base(), target: "/a\x7f" }, field: "target" },
  { name: "a target with non-ASCII", req: { ...base(), target: "/caf\u00e9" }, field: "target" },
  {
    name: "a header value with CR LF",
    req: { ...base(), headers: [HOST, ["X-A", "1\r\nX-B: 2"]] },
    field: "header X-A",
  },
  {
    name: "a header value with a bare LF",
    req: { ...base(), headers: [HOST, ["X-A", "1\n"]] },
    field: "header X-A",
  },
  {
    name: "a header value with NUL",
    req: { ...base(), headers: [HOST, ["X-A", "\0"]] },
    field: "header X-A",
  },
  {
    name: "a header value beyond Latin-1",
    req: { ...base(), headers: [HOST, ["X-A", "\u20ac"]] },
    field: "header X-A",
  },
  {
    name: "a header name with a colon",
    req: { ...base(), headers: [HOST, ["X:A", "1"]] },
    field: 'header "X:A"',
  },
  {
    name: "a header name with a space",
    req: { ...base(), headers: [HOST, ["X A", "1"]] },
    field: 'header "X A"',
  },
  {
    name: "a header name with CR",
    req: { ...base(), headers: [HOST, ["X\r", "1"]] },
    field: 'header "X\\r"',
  },
  {
    name: "an empty header name",
    req: { ...base(), headers: [HOST, ["", "1"]] },
    field: 'header ""',
  },
  { name: "no Host", req: { ...base(), headers: [] }, field: "Host" },
  { name: "two Hosts", req: { ...base(), headers: [HOST, ["host", "evil"]] }, field: "Host" },
  { name: "a negative body length", req: { ...base(), bodyLength: -1 }, field: "bodyLength" },
  { name: "a fractional body length", req: { ...base(), bodyLength: 1.5 }, field: "bodyLength" },
];

for (const { name, req, field } of rejections) {
  Deno.test(`encodeRequestHead refuses ${name}`, () => {
    assert.throws(() => encodeRequestHead(req), (err: unknown) => {
      assert.ok(err instanceof HttpEncodeError, `expected HttpEncodeError, got ${err}`);
      assert.equal(err.field, field);
      return true;
    });
  });
}
