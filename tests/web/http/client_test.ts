/**
 * httpRequest against a real HTTP server (Deno.serve) over real TCP
 * connections on 127.0.0.1, the way the page's tunnel streams reach an app.
 */
import assert from "node:assert/strict";
import { type ByteStream, HttpParseError, httpRequest } from "../../../lib/web/http/mod.ts";
import { compress, prng, randomBytes, readAll } from "./_helpers.ts";

const MB = 1024 * 1024;
const TEXT = new TextEncoder().encode("fixed response body\n".repeat(100));
const CHUNKS = Array.from({ length: 20 }, (_, i) => randomBytes(prng(i + 1), 5000 + i));

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A real HTTP server on a loopback port, and a way to open raw TCP streams to it. */
async function startApp() {
  const gzipped = await compress(TEXT, "gzip");
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/fixed") return new Response(TEXT, { headers: { "content-type": "text/plain" } });
    if (path === "/chunked") {
      // No length known up front, so the server sends Transfer-Encoding: chunked.
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (i < CHUNKS.length) controller.enqueue(CHUNKS[i++]);
          else controller.close();
        },
      });
      return new Response(body);
    }
    if (path === "/gzip") return new Response(gzipped, { headers: { "content-encoding": "gzip" } });
    if (path === "/echo") return new Response(req.body, { headers: { "x-method": req.method } });
    if (path === "/slow") {
      // Nothing to send for a while: a client that shut its side down by now is gone.
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (i++ < 3) controller.enqueue(TEXT);
          else controller.close();
        },
      });
      return new Response(body);
    }
    return new Response("not found", { status: 404 });
  });
  const conns: Deno.TcpConn[] = [];
  /** A raw TCP connection as the byte stream, as a tunnel stream reaches the app. */
  const open = async (): Promise<ByteStream> => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    conns.push(conn);
    return { readable: conn.readable, writable: conn.writable };
  };
  return {
    open,
    async [Symbol.asyncDispose]() {
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed by the client already */ }
      }
      await server.shutdown();
    },
  };
}

const get = (target: string) => ({
  method: "GET",
  target,
  headers: [["Host", "localhost"], ["Accept-Encoding", "gzip"]] as [string, string][],
  body: null,
});

Deno.test("httpRequest gets a fixed-length response over TCP", async () => {
  await using app = await startApp();
  const res = await httpRequest(app.open, get("/fixed"));
  assert.equal(res.status, 200);
  assert.ok(res.headers.some(([n, v]) => n === "content-length" && v === String(TEXT.length)));
  assert.equal(await sha256(await readAll(res.body!)), await sha256(TEXT));
});

Deno.test("httpRequest gets a chunked response over TCP", async () => {
  await using app = await startApp();
  const res = await httpRequest(app.open, get("/chunked"));
  assert.equal(res.status, 200);
  assert.ok(!res.headers.some(([n]) => /^(transfer-encoding|content-length)$/i.test(n)));
  const all = new Uint8Array(CHUNKS.reduce((n, c) => n + c.length, 0));
  CHUNKS.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  assert.equal(await sha256(await readAll(res.body!)), await sha256(all));
});

Deno.test("httpRequest keeps its side open until a slow response is over", async () => {
  await using app = await startApp();
  const res = await httpRequest(app.open, get("/slow"));
  assert.equal((await readAll(res.body!)).length, 3 * TEXT.length);
});

Deno.test("httpRequest decodes a gzip response over TCP", async () => {
  await using app = await startApp();
  const res = await httpRequest(app.open, get("/gzip"), { decode: true });
  assert.ok(!res.headers.some(([n]) => /^content-(encoding|length)$/i.test(n)));
  assert.equal(await sha256(await readAll(res.body!)), await sha256(TEXT));
});

Deno.test("httpRequest sends a 1 MB POST body and gets it echoed byte for byte", async () => {
  await using app = await startApp();
  const body = randomBytes(prng(42), MB);
  const res = await httpRequest(app.open, {
    method: "POST",
    target: "/echo",
    headers: [["Host", "localhost"], ["Content-Type", "application/octet-stream"]],
    body,
  });
  assert.equal(res.status, 200);
  assert.ok(res.headers.some(([n, v]) => n === "x-method" && v === "POST"));
  const echoed = await readAll(res.body!);
  assert.equal(echoed.length, MB);
  assert.equal(await sha256(echoed), await sha256(body));
});

Deno.test("httpRequest sends an empty POST with Content-Length: 0 and gets an empty echo", async () => {
  await using app = await startApp();
  const res = await httpRequest(app.open, {
    method: "POST",
    target: "/echo",
    headers: [["Host", "localhost"]],
    body: new Uint8Array(0),
  });
  assert.equal(res.status, 200);
  assert.equal((await readAll(res.body!)).length, 0);
});

Deno.test("httpRequest answers HEAD with headers and no body", async () => {
  await using app = await startApp();
  const res = await httpRequest(app.open, { ...get("/fixed"), method: "HEAD" });
  assert.equal(res.status, 200);
  assert.equal(res.body, null);
});

Deno.test("httpRequest runs many requests at once, one stream each", async () => {
  await using app = await startApp();
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const body = randomBytes(prng(i), 10_000 + i);
      const res = await httpRequest(app.open, { ...get("/echo"), method: "PUT", body });
      return (await sha256(await readAll(res.body!))) === (await sha256(body));
    }),
  );
  assert.ok(results.every(Boolean));
});

Deno.test("httpRequest reports a server that closes without answering as an HttpParseError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(1024));
    conn.close();
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  let conn: Deno.TcpConn | undefined;
  try {
    const open = async () => {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
      return { readable: conn.readable, writable: conn.writable };
    };
    await assert.rejects(httpRequest(open, get("/")), (err: unknown) => {
      assert.ok(err instanceof HttpParseError);
      assert.equal(err.field, "status line");
      return true;
    });
  } finally {
    await accepted;
    listener.close();
    try {
      conn?.close();
    } catch { /* closed already */ }
  }
});
