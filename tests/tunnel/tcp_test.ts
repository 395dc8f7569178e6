import assert from "node:assert/strict";
import net from "node:net";
import { isLoopback, Mux, serveGuestPort, serveHostStreams } from "../../lib/tunnel/mod.ts";
import {
  closedPort,
  mulberry32,
  muxPair,
  randomBytes,
  sha256,
  startEchoServer,
  startTcpServer,
  startTunnel,
  tcpExchange,
  withTimeout,
} from "./helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const text = (s: string) => new TextEncoder().encode(s);

Deno.test("64 MiB through the tunnel to a TCP echo server come back byte-identical", async () => {
  await using echo = await startEchoServer();
  await using tunnel = await startTunnel(echo.port);
  const data = randomBytes(mulberry32(1), 64 * MiB);
  const started = performance.now();
  const result = await withTimeout(tcpExchange(tunnel.guestPort.port, data), 60_000, "64 MiB echo");
  const ms = performance.now() - started;
  assert.equal(result.error, undefined);
  assert.equal(result.gotEnd, true);
  assert.equal(result.received.byteLength, data.byteLength);
  assert.equal(sha256(result.received), sha256(data));
  assert.equal(tunnel.muxes.guest.bytesSent, data.byteLength);
  assert.equal(tunnel.muxes.guest.bytesReceived, data.byteLength);
  console.log(
    `    TCP -> mux -> memory -> mux -> TCP echo: 64 MiB each way in ${ms.toFixed(0)} ms` +
      ` = ${(64 / (ms / 1000)).toFixed(0)} MiB/s`,
  );
});

Deno.test("a download through a slow channel arrives intact: the host's one read buffer per connection waits while the stream holds it", async () => {
  const data = randomBytes(mulberry32(2), 16 * MiB);
  await using server = await startTcpServer((socket) => socket.end(data));
  // Small windows and a slow channel: the host's reads are paused again and again.
  await using tunnel = await startTunnel(server.port, {
    mux: { initialWindow: 64 * KiB, highWatermark: 256 * KiB, lowWatermark: 64 * KiB },
    channel: { bytesPerMs: 50_000 },
  });
  // The client sends nothing and half-closes only after the server's FIN (a
  // Deno server that gets FIN first fails its pending writes with EPIPE).
  const received = await withTimeout(
    new Promise<Uint8Array[]>((resolve, reject) => {
      const chunks: Uint8Array[] = [];
      const socket = net.connect({ host: "127.0.0.1", port: tunnel.guestPort.port });
      socket.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      socket.on("end", () => resolve(chunks));
      socket.on("error", reject);
    }),
    30_000,
    "16 MiB down",
  );
  assert.equal(sha256(...received), sha256(data));
});

Deno.test("100 parallel connections each get back exactly their own data", async () => {
  await using echo = await startEchoServer();
  await using tunnel = await startTunnel(echo.port);
  const rand = mulberry32(100);
  const payloads = Array.from(
    { length: 100 },
    (_, i) => randomBytes(rand, 1 + i * 2 * KiB + (rand() % 1000)),
  );
  const results = await withTimeout(
    Promise.all(payloads.map((p) => tcpExchange(tunnel.guestPort.port, p))),
    30_000,
    "100 connections",
  );
  results.forEach((r, i) => {
    assert.equal(r.gotEnd, true, `connection ${i}`);
    assert.equal(sha256(r.received), sha256(payloads[i]), `connection ${i}`);
  });
  assert.equal(tunnel.muxes.host.streamCount, 0, "every stream closed");
});

Deno.test("a client that half-closes still receives the server's reply after its FIN", async () => {
  // The server answers only once it has seen the client's FIN.
  await using server = await startTcpServer((socket) => {
    let n = 0;
    socket.on("data", (chunk: Uint8Array) => n += chunk.byteLength);
    socket.on("end", () => socket.end(`got ${n} bytes`));
  });
  await using tunnel = await startTunnel(server.port);
  const result = await withTimeout(
    tcpExchange(tunnel.guestPort.port, randomBytes(mulberry32(3), 300_000)),
    5000,
    "reply after FIN",
  );
  assert.equal(new TextDecoder().decode(result.received), "got 300000 bytes");
  assert.equal(result.gotEnd, true);
});

Deno.test("a server resetting one connection does not disturb a concurrent one", async () => {
  await using server = await startTcpServer((socket) => {
    socket.once("data", (chunk: Uint8Array) => {
      if (chunk[0] === 0x52 /* R */) return socket.resetAndDestroy();
      socket.write(chunk);
      socket.pipe(socket);
    });
  });
  await using tunnel = await startTunnel(server.port);
  const data = randomBytes(mulberry32(4), 8 * MiB);
  data[0] = 0x41;
  const survivor = tcpExchange(tunnel.guestPort.port, data);
  await new Promise((r) => setTimeout(r, 5));
  const reset = await withTimeout(
    tcpExchange(tunnel.guestPort.port, text("Reset me")),
    5000,
    "reset",
  );
  const survived = await withTimeout(survivor, 30_000, "survivor");

  assert.equal(reset.gotEnd, false, "the reset connection must not look like a clean end");
  assert.equal(reset.received.byteLength, 0);
  assert.equal(survived.gotEnd, true);
  assert.equal(sha256(survived.received), sha256(data));
  assert.equal(tunnel.muxes.guest.closed, false);
});

Deno.test("connecting while the shared port is closed gives the client a closed connection", async () => {
  const port = await closedPort();
  await using tunnel = await startTunnel(port);
  const result = await withTimeout(
    tcpExchange(tunnel.guestPort.port, text("hello?")),
    5000,
    "close",
  );
  assert.equal(result.received.byteLength, 0);
  assert.equal(result.gotEnd, false);

  // The reason travels with the RESET.
  const stream = tunnel.muxes.guest.openStream();
  const error = await withTimeout(new Promise((r) => stream.onclose = r), 5000, "RESET");
  assert.match(String(error), /connection refused/);
});

Deno.test("connections made before the mux exists wait for it and then succeed", async () => {
  await using echo = await startEchoServer();
  const pair = muxPair();
  await using _pair = pair;
  await using _host = serveHostStreams(pair.host, { targetPort: echo.port });
  let attach!: (mux: Mux) => void;
  await using guestPort = await serveGuestPort(new Promise<Mux>((r) => attach = r));

  const early = tcpExchange(guestPort.port, text("early bird"));
  await new Promise((r) => setTimeout(r, 50)); // the peer connection is "still being set up"
  attach(pair.guest);
  const result = await withTimeout(early, 5000, "early connection");
  assert.equal(new TextDecoder().decode(result.received), "early bird");
  assert.equal(result.gotEnd, true);
});

Deno.test("a connection that waits longer than pendingTimeoutMs for a mux is closed", async () => {
  await using guestPort = await serveGuestPort(null, { pendingTimeoutMs: 50 });
  const result = await withTimeout(tcpExchange(guestPort.port, text("anyone?")), 5000, "close");
  assert.equal(result.received.byteLength, 0);
});

Deno.test("a replacement mux takes new connections after the first one closes", async () => {
  await using echo = await startEchoServer();
  await using first = muxPair();
  await using second = muxPair();
  await using _h1 = serveHostStreams(first.host, { targetPort: echo.port });
  await using _h2 = serveHostStreams(second.host, { targetPort: echo.port });
  await using guestPort = await serveGuestPort(first.guest);
  first.guest.close("path changed");
  const pending = tcpExchange(guestPort.port, text("via the new path"));
  await new Promise((r) => setTimeout(r, 20));
  guestPort.attach(second.guest);
  const result = await withTimeout(pending, 5000, "new path");
  assert.equal(new TextDecoder().decode(result.received), "via the new path");
  assert.equal(second.host.bytesReceived, "via the new path".length);
});

Deno.test("mux.ping over a tunnel carrying traffic returns a number of milliseconds", async () => {
  await using echo = await startEchoServer();
  await using tunnel = await startTunnel(echo.port);
  const traffic = tcpExchange(tunnel.guestPort.port, randomBytes(mulberry32(5), 4 * MiB));
  const rtt = await withTimeout(tunnel.muxes.guest.ping(), 5000, "ping");
  assert.equal(typeof rtt, "number");
  assert.ok(Number.isFinite(rtt) && rtt >= 0);
  await withTimeout(traffic, 10_000, "traffic");
});

const targets: { host: string; loopback: boolean }[] = [
  { host: "127.0.0.1", loopback: true },
  { host: "127.1.2.3", loopback: true },
  { host: "::1", loopback: true },
  { host: "localhost", loopback: true },
  { host: "10.0.0.1", loopback: false },
  { host: "0.0.0.0", loopback: false },
  { host: "example.com", loopback: false },
  { host: "127.0.0.1.example.com", loopback: false },
];

for (const t of targets) {
  Deno.test(`serveHostStreams ${t.loopback ? "accepts" : "refuses"} target ${t.host}`, async () => {
    await using pair = muxPair();
    const serve = () => serveHostStreams(pair.host, { targetHost: t.host, targetPort: 80 });
    assert.equal(isLoopback(t.host), t.loopback);
    if (t.loopback) await serve().close();
    else assert.throws(serve, /targetHost must be a loopback address/);
  });
}

Deno.test("closing the guest port ends the connections it carries", async () => {
  await using echo = await startEchoServer();
  await using tunnel = await startTunnel(echo.port);
  const socket = net.connect({
    host: "127.0.0.1",
    port: tunnel.guestPort.port,
    allowHalfOpen: true,
  });
  socket.on("error", () => {});
  const closed = new Promise((r) => socket.once("close", r));
  const ended = new Promise((r) => socket.once("end", r).once("close", r));
  try {
    await new Promise((r) => socket.once("connect", r));
    socket.write("x");
    await new Promise((r) => socket.once("data", r));
    await tunnel.guestPort.close();
    await withTimeout(ended, 5000, "the client to see its connection end");
  } finally {
    socket.destroy();
    await closed;
  }
});

Deno.test("waiting connections are closed at once when the promised mux fails", async () => {
  let fail!: (e: Error) => void;
  await using guestPort = await serveGuestPort(new Promise<Mux>((_, reject) => fail = reject));
  const waiting = tcpExchange(guestPort.port, text("hello?"));
  await new Promise((r) => setTimeout(r, 20));
  fail(new Error("peer connection failed"));
  const result = await withTimeout(waiting, 1000, "the waiting connection to close");
  assert.equal(result.received.byteLength, 0);
});
