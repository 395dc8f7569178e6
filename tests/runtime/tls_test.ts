/**
 * HTTPS and wss:// through the runtime adapter (lib/runtime serveHttp with
 * `tls`), using a certificate from lib/cert that the client trusts as its only
 * extra CA. Deno's WebSocket takes the same `Deno.createHttpClient` as fetch,
 * so the wss:// part verifies the certificate too, with no manual upgrade.
 */
import { Hono } from "hono";
import { assert, assertEquals } from "../_util/assert.ts";
import { selfSignedCert } from "../../lib/cert/mod.ts";
import { type HttpServer, serveHttp, upgradeWebSocket } from "../../lib/runtime/mod.ts";

async function startTlsEcho(): Promise<{ server: HttpServer; certPem: string } & AsyncDisposable> {
  const cert = await selfSignedCert({
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    validDays: 1,
  });
  const app = new Hono();
  app.get("/hello", (c) => c.text(`hello over ${new URL(c.req.url).protocol}`));
  app.get(
    "/echo",
    upgradeWebSocket(() => ({
      onMessage: (event, ws) => ws.send(event.data as string | ArrayBuffer),
    })),
  );
  const server = await serveHttp(app, { hostname: "127.0.0.1", port: 0, tls: cert });
  return { server, certPem: cert.certPem, [Symbol.asyncDispose]: () => server.close() };
}

/**
 * Deno's WebSocket takes `{ client }` (a custom CA); the DOM lib's declaration,
 * which lib/web/guest brings into a whole-project type check, does not know it.
 */
const DenoWebSocket = WebSocket as unknown as new (
  url: string,
  options: { client: Deno.HttpClient },
) => WebSocket;

Deno.test("an https fetch reaches a hono app served with a self-signed cert", async () => {
  await using echo = await startTlsEcho();
  using client = Deno.createHttpClient({ caCerts: [echo.certPem] });
  for (const host of ["127.0.0.1", "localhost"]) {
    const res = await fetch(`https://${host}:${echo.server.port}/hello`, { client });
    assertEquals([res.status, await res.text()], [200, "hello over https:"], host);
  }
});

Deno.test("a client that does not trust the cert is refused, over fetch and wss://", async () => {
  await using echo = await startTlsEcho();
  let failed = false;
  try {
    await (await fetch(`https://127.0.0.1:${echo.server.port}/hello`)).body?.cancel();
  } catch {
    failed = true;
  }
  assert(failed, "fetch without the CA must fail certificate verification");

  const ws = new WebSocket(`wss://127.0.0.1:${echo.server.port}/echo`);
  const outcome = await new Promise<string>((resolve) => {
    ws.onopen = () => resolve("open");
    ws.onerror = () => resolve("error");
  });
  assertEquals(outcome, "error", "wss:// without the CA must fail too");
});

Deno.test("a wss:// WebSocket echoes text and binary through the TLS server", async () => {
  await using echo = await startTlsEcho();
  using client = Deno.createHttpClient({ caCerts: [echo.certPem] });
  const ws = new DenoWebSocket(`wss://127.0.0.1:${echo.server.port}/echo`, { client });
  ws.binaryType = "arraybuffer";
  const received: unknown[] = [];
  const done = Promise.withResolvers<void>();
  const timer = setTimeout(() => done.reject(new Error("no echo within 5 s")), 5000);
  ws.onerror = () => done.reject(new Error("wss connection failed"));
  ws.onopen = () => {
    ws.send("ping");
    ws.send(new Uint8Array([1, 2, 3, 255]));
  };
  ws.onmessage = (event) => {
    received.push(
      typeof event.data === "string" ? event.data : Array.from(new Uint8Array(event.data)),
    );
    if (received.length === 2) done.resolve();
  };
  try {
    await done.promise;
  } finally {
    clearTimeout(timer);
    const closed = new Promise((resolve) => ws.onclose = resolve);
    ws.close();
    await closed;
  }
  assertEquals(received, ["ping", [1, 2, 3, 255]]);
});
