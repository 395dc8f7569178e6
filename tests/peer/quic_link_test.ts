/**
 * The host's end of relay-mode streams (lib/peer/quic_link.ts serveSpliced):
 * what the relay forwards reaches the shared port only when it is a stream
 * the guest sealed and has not been served before. A replayed recording or
 * made-up bytes are reset without the port ever being dialled.
 */
import { assertEquals } from "../_util/assert.ts";
import { LinkCounters, serveSpliced } from "../../lib/peer/quic_link.ts";
import { ReplayWindow } from "../../lib/quic/replay_window.ts";
import { encodeStreamId, openSealed, streamKeys } from "../../lib/quic/sealed.ts";
import { startTcpServer, waitFor } from "../tunnel/helpers.ts";

const base = new Uint8Array(32).fill(3);

/** What a guest sends on relay-mode stream `id` carrying `text`, as the relay records it. */
async function recordStream(id: number, text: string): Promise<Uint8Array[]> {
  const recorded: Uint8Array[] = [];
  const sink = new WritableStream<Uint8Array>({ write: (c) => void recorded.push(c.slice()) });
  const writer = sink.getWriter();
  await writer.write(encodeStreamId(id));
  writer.releaseLock();
  const sealed = await openSealed(
    { readable: new ReadableStream(), writable: sink },
    await streamKeys(base, id, "guest"),
  );
  const w = sealed.writable.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  return recorded;
}

/** A relay-forwarded stream from recorded chunks; its other direction is thrown away. */
function forwarded(chunks: Uint8Array[]) {
  let aborted = false;
  return {
    stream: {
      readable: new ReadableStream<Uint8Array>({
        start(c) {
          for (const chunk of chunks) c.enqueue(chunk);
          c.close();
        },
      }),
      writable: new WritableStream<Uint8Array>({ abort: () => void (aborted = true) }),
    },
    get aborted() {
      return aborted;
    },
  };
}

Deno.test("a sealed stream reaches the port once; its replay, and made-up bytes, never do", async () => {
  const received: string[] = [];
  await using app = await startTcpServer((socket) => {
    let text = "";
    socket.on("data", (c: Uint8Array) => text += new TextDecoder().decode(c));
    socket.on("end", () => {
      received.push(text);
      socket.end();
    });
  });
  const window = new ReplayWindow();
  const counters = new LinkCounters();
  const recording = await recordStream(0, "POST /pay HTTP/1.1\r\n\r\n");

  await serveSpliced(forwarded(recording).stream, base, window, app.port, counters);
  await waitFor(() => received.length === 1, "the first delivery");
  assertEquals(received, ["POST /pay HTTP/1.1\r\n\r\n"]);

  const replay = forwarded(recording);
  await serveSpliced(replay.stream, base, window, app.port, counters);
  const junk = forwarded([
    encodeStreamId(1),
    new TextEncoder().encode("GET /admin HTTP/1.1\r\n\r\n"),
  ]);
  await serveSpliced(junk.stream, base, window, app.port, counters);
  const wrongKey = forwarded(await recordStream(2, "hi"));
  await serveSpliced(wrongKey.stream, new Uint8Array(32).fill(4), window, app.port, counters);
  await new Promise((r) => setTimeout(r, 200));
  assertEquals(received.length, 1, "nothing else reached the port");
  assertEquals([replay.aborted, junk.aborted, wrongKey.aborted], [true, true, true]);
});
