/**
 * Tunnel streams as Web streams (lib/tunnel/web_streams.ts) and Web streams
 * joined to TCP (lib/tunnel/tcp_web.ts): the browser guest's and the host's
 * WebTransport side of the tunnel.
 */
import net from "node:net";
import { assertEquals, assertRejects } from "../_util/assert.ts";
import { tunnelStreamToWeb } from "../../lib/tunnel/web_streams.ts";
import { bridgeTcpWeb, type Counters } from "../../lib/tunnel/tcp_web.ts";
import {
  concat,
  mulberry32,
  muxPair,
  randomBytes,
  sha256,
  startEchoServer,
  withTimeout,
} from "./helpers.ts";

const MB = 1024 * 1024;

async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return concat(chunks);
}

Deno.test("8 MB cross a tunnel stream as Web streams both ways, with half-close", async () => {
  await using pair = muxPair();
  const data = randomBytes(mulberry32(7), 8 * MB);
  pair.host.onstream = (s) => {
    // The host side echoes through its own Web stream view.
    const web = tunnelStreamToWeb(s);
    web.readable.pipeTo(web.writable);
  };
  const guest = tunnelStreamToWeb(pair.guest.openStream());
  const writing = (async () => {
    const w = guest.writable.getWriter();
    for (let i = 0; i < data.length; i += 100_000) await w.write(data.subarray(i, i + 100_000));
    await w.close();
  })();
  const back = await withTimeout(readAll(guest.readable), 20_000, "echo");
  await writing;
  assertEquals(back.byteLength, data.byteLength);
  assertEquals(sha256(back), sha256(data));
});

Deno.test("a slow reader holds the sender back instead of buffering without bound", async () => {
  await using pair = muxPair({ mux: { initialWindow: 64 * 1024 } });
  let received = 0;
  pair.host.onstream = (s) => {
    s.ondata = (chunk) => received += chunk.byteLength; // never consumes: no credit back
  };
  const guest = tunnelStreamToWeb(pair.guest.openStream());
  const w = guest.writable.getWriter();
  let written = 0;
  const writing = (async () => {
    while (written < 4 * MB) {
      await w.write(new Uint8Array(16 * 1024));
      written += 16 * 1024;
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  // One window (plus what the stream queued before waiting) went out; the rest waits.
  assertEquals(received <= 64 * 1024, true, `received ${received}`);
  assertEquals(written < 512 * 1024, true, `written ${written}`);
  await w.abort("test over");
  await writing.catch(() => {});
});

Deno.test("a reset tunnel stream errors the reader with the reason", async () => {
  await using pair = muxPair();
  pair.host.onstream = (s) => s.reset("app refused");
  const guest = tunnelStreamToWeb(pair.guest.openStream());
  const reader = guest.readable.getReader();
  const err = await assertRejects(() => reader.read(), Error);
  assertEquals(err.message.includes("app refused"), true, err.message);
});

Deno.test("a Web stream joined to a TCP socket carries 4 MB to an echo server and back, and counts both ways", async () => {
  await using echo = await startEchoServer();
  await using pair = muxPair();
  const counters: Counters = { sent: 0, received: 0 };
  pair.host.onstream = (s) => {
    const socket = net.connect({ host: "127.0.0.1", port: echo.port, allowHalfOpen: true });
    bridgeTcpWeb(tunnelStreamToWeb(s), socket, counters);
  };
  const data = randomBytes(mulberry32(9), 4 * MB);
  const guest = tunnelStreamToWeb(pair.guest.openStream());
  const writing = (async () => {
    const w = guest.writable.getWriter();
    await w.write(data);
    await w.close();
  })();
  const back = await withTimeout(readAll(guest.readable), 20_000, "echo");
  await writing;
  assertEquals(sha256(back), sha256(data));
  assertEquals(counters.received, data.byteLength); // stream -> TCP
  assertEquals(counters.sent, data.byteLength); // TCP -> stream
});
