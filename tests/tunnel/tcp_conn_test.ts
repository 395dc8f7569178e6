/**
 * Web byte streams joined to a runtime TCP connection (lib/tunnel/tcp_conn.ts):
 * the host's side of the QUIC data plane, towards the shared port.
 */
import { assertEquals } from "../_util/assert.ts";
import { connectTcp } from "../../lib/runtime/mod.ts";
import { bridgeTcpConn } from "../../lib/tunnel/tcp_conn.ts";
import type { ByteStream } from "../../lib/tunnel/web_streams.ts";
import {
  concat,
  mulberry32,
  randomBytes,
  sha256,
  startEchoServer,
  startTcpServer,
  withTimeout,
} from "./helpers.ts";

const MB = 1024 * 1024;

/** The far end of a bridged stream: what a QUIC peer would write and read. */
interface Peer {
  stream: ByteStream;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  received: Promise<Uint8Array>;
}

/**
 * A stream pair whose readable is a byte stream (as Deno's QUIC streams are,
 * so the bridge reads it with a BYOB reader) or a plain one (as the relay's
 * sealed streams are).
 */
function peer(bytes: boolean): Peer {
  const toTcp = new TransformStream<Uint8Array, Uint8Array>();
  // Copies each chunk, as QUIC and sealed streams are done with it once written.
  const fromTcp = new TransformStream<Uint8Array, Uint8Array>({
    transform: (chunk, c) => c.enqueue(chunk.slice()),
  });
  const readable = bytes ? asByteStream(toTcp.readable) : toTcp.readable;
  const received = (async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of fromTcp.readable) chunks.push(chunk);
    return concat(chunks);
  })();
  return {
    stream: { readable, writable: fromTcp.writable },
    writer: toTcp.writable.getWriter(),
    received,
  };
}

function asByteStream(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      const { value, done } = await reader.read();
      if (!done) return controller.enqueue(value.slice());
      controller.close();
      controller.byobRequest?.respond(0); // a pending BYOB read ends only then
    },
  });
}

for (const bytes of [true, false]) {
  const kind = bytes ? "a byte stream" : "a plain stream";
  Deno.test(`16 MB from ${kind} to a TCP echo server come back byte-identical`, async () => {
    await using server = await startEchoServer();
    const p = peer(bytes);
    const conn = await connectTcp("127.0.0.1", server.port);
    const counters = { sent: 0, received: 0 };
    const done = bridgeTcpConn(p.stream, conn, counters);
    const data = randomBytes(mulberry32(11), 16 * MB);
    for (let i = 0; i < data.length; i += 100_000) {
      await p.writer.write(data.slice(i, i + 100_000));
    }
    await p.writer.close();
    const back = await withTimeout(p.received, 20_000, "echo");
    await withTimeout(done, 5_000, "bridge done");
    assertEquals(back.byteLength, data.byteLength);
    assertEquals(sha256(back), sha256(data));
    assertEquals(counters, { sent: data.byteLength, received: data.byteLength });
  });
}

Deno.test("the stream's end reaches the server as FIN, and its reply after that still arrives", async () => {
  await using server = await startTcpServer((socket) => {
    let n = 0;
    socket.on("data", (chunk: Uint8Array) => n += chunk.byteLength);
    socket.on("end", () => socket.end(`got ${n} bytes`));
  });
  const p = peer(true);
  const done = bridgeTcpConn(p.stream, await connectTcp("127.0.0.1", server.port), {
    sent: 0,
    received: 0,
  });
  await p.writer.write(randomBytes(mulberry32(3), 300_000));
  await p.writer.close();
  const reply = await withTimeout(p.received, 5_000, "reply after FIN");
  assertEquals(new TextDecoder().decode(reply), "got 300000 bytes");
  await withTimeout(done, 5_000, "bridge done");
});

Deno.test("a server that resets the connection errors the stream instead of ending it", async () => {
  await using server = await startTcpServer((socket) => {
    socket.once("data", () => socket.resetAndDestroy());
  });
  const p = peer(true);
  const done = bridgeTcpConn(p.stream, await connectTcp("127.0.0.1", server.port), {
    sent: 0,
    received: 0,
  });
  await p.writer.write(new Uint8Array(10));
  const outcome = await withTimeout(
    p.received.then(() => "ended", () => "errored"),
    5_000,
    "stream outcome",
  );
  assertEquals(outcome, "errored");
  await withTimeout(done, 5_000, "bridge done");
});
