import assert from "node:assert/strict";
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  HEADER_SIZE,
  MAX_DATA_PAYLOAD,
} from "../../lib/tunnel/frame.ts";
import { Mux, type MuxOptions, StreamResetError, type TunnelStream } from "../../lib/tunnel/mod.ts";
import { memoryChannelPair } from "./memory_channel.ts";
import {
  concat,
  mulberry32,
  muxPair,
  randomBytes,
  sha256,
  waitFor,
  withTimeout,
} from "./helpers.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Write `data` in `piece`-sized chunks, waiting for `ondrain` whenever told to, then FIN. */
async function writeAll(stream: TunnelStream, data: Uint8Array, piece = 64 * KiB): Promise<number> {
  let stalls = 0;
  for (let at = 0; at < data.byteLength; at += piece) {
    if (!stream.write(data.subarray(at, at + piece))) {
      stalls++;
      await new Promise<void>((resolve) => stream.ondrain = resolve);
    }
  }
  stream.end();
  return stalls;
}

/** Everything the stream delivers until the peer's FIN, consumed at once. */
function readAll(stream: TunnelStream): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    stream.ondata = (chunk) => {
      chunks.push(chunk.slice());
      stream.consume(chunk.byteLength);
    };
    stream.onend = () => resolve(concat(chunks));
    const previous = stream.onclose;
    stream.onclose = (error) => {
      previous?.(error);
      if (error) reject(error);
    };
  });
}

function nextStream(mux: Mux): Promise<TunnelStream> {
  return new Promise((resolve) => mux.onstream = resolve);
}

function closedWith(stream: TunnelStream): Promise<StreamResetError | undefined> {
  return new Promise((resolve) => stream.onclose = resolve);
}

/** A mux whose peer is the test itself, speaking raw frames. */
function rawPeer(options: MuxOptions = {}) {
  const [raw, muxSide] = memoryChannelPair();
  const mux = new Mux(muxSide, options);
  const received: Frame[] = [];
  raw.onmessage = (data) => received.push(decodeFrame(data));
  const send = (frame: Frame) => raw.send(encodeFrame(frame));
  return {
    mux,
    raw,
    received,
    send,
    hello: (maxPayload = 64 * KiB) =>
      send({ type: "hello", version: 1, initialWindow: MiB, maxPayload }),
    async [Symbol.asyncDispose]() {
      mux.close("test over");
      raw.close();
      await raw.settled();
    },
  };
}

Deno.test("a stream carries data both ways and half-closes each direction on its own", async () => {
  await using pair = muxPair();
  const accepted = nextStream(pair.host);
  const guest = pair.guest.openStream();
  const guestClosed = closedWith(guest);
  guest.write(new TextEncoder().encode("request"));
  guest.end();

  const host = await accepted;
  const hostClosed = closedWith(host);
  const request = await withTimeout(readAll(host), 2000, "request");
  assert.equal(new TextDecoder().decode(request), "request");
  // The guest has sent FIN; the reply must still reach it.
  const reply = readAll(guest);
  host.write(new TextEncoder().encode("reply after your FIN"));
  host.end();
  assert.equal(
    new TextDecoder().decode(await withTimeout(reply, 2000, "reply")),
    "reply after your FIN",
  );
  assert.equal(await guestClosed, undefined);
  assert.equal(await hostClosed, undefined);
  assert.equal(pair.guest.streamCount, 0);
  assert.equal(pair.host.streamCount, 0);
});

Deno.test("64 MiB through one in-memory stream arrive byte-identical", async () => {
  await using pair = muxPair();
  const data = randomBytes(mulberry32(64), 64 * MiB);
  const accepted = nextStream(pair.host);
  const started = performance.now();
  const sending = writeAll(pair.guest.openStream(), data);
  const received = await withTimeout(readAll(await accepted), 60_000, "64 MiB");
  await sending;
  const ms = performance.now() - started;
  assert.equal(received.byteLength, data.byteLength);
  assert.equal(sha256(received), sha256(data));
  assert.equal(pair.guest.bytesSent, data.byteLength);
  assert.equal(pair.host.bytesReceived, data.byteLength);
  assert.equal(pair.guestChannel.failure, null);
  console.log(
    `    in-memory mux: 64 MiB in ${ms.toFixed(0)} ms = ${(64 / (ms / 1000)).toFixed(0)} MiB/s`,
  );
});

Deno.test("a slow channel never lets bufferedAmount exceed the high watermark plus one frame", async () => {
  const options = { highWatermark: 256 * KiB, lowWatermark: 64 * KiB, initialWindow: 512 * KiB };
  await using pair = muxPair({ mux: options, channel: { bytesPerMs: 20_000 } });
  const rand = mulberry32(7);
  const payloads = Array.from({ length: 8 }, () => randomBytes(rand, 512 * KiB));
  const accepted: TunnelStream[] = [];
  pair.host.onstream = (s) => accepted.push(s);
  const sending = payloads.map((p) => writeAll(pair.guest.openStream(), p));
  await waitFor(() => accepted.length === payloads.length, "all streams to open");
  const received = await withTimeout(Promise.all(accepted.map(readAll)), 10_000, "8 streams");
  await Promise.all(sending);

  received.forEach((r, i) => assert.equal(sha256(r), sha256(payloads[i]), `stream ${i}`));
  const peak = pair.guestChannel.peakBufferedAmount;
  assert.ok(peak > options.highWatermark, `peak ${peak}: the watermark was never reached`);
  assert.ok(
    peak <= options.highWatermark + HEADER_SIZE + MAX_DATA_PAYLOAD,
    `peak bufferedAmount ${peak} exceeds high watermark + one frame`,
  );
});

Deno.test("a slow reader holds the sender to one window and stalls its writer", async () => {
  const window = 64 * KiB;
  await using pair = muxPair({ mux: { initialWindow: window, maxFramePayload: 16 * KiB } });
  const data = randomBytes(mulberry32(9), MiB);
  const accepted = nextStream(pair.host);
  const sending = writeAll(pair.guest.openStream(), data, 32 * KiB);
  const reader = await accepted;

  const chunks: Uint8Array[] = [];
  let unconsumed = 0;
  let peakUnconsumed = 0;
  let ended = false;
  reader.ondata = (chunk) => {
    chunks.push(chunk.slice());
    unconsumed += chunk.byteLength;
    peakUnconsumed = Math.max(peakUnconsumed, unconsumed);
  };
  reader.onend = () => ended = true;
  // Consume 16 KiB every 2 ms: about 8 MB/s, far slower than the channel.
  const timer = setInterval(() => {
    const n = Math.min(unconsumed, 16 * KiB);
    unconsumed -= n;
    reader.consume(n);
  }, 2);
  try {
    await waitFor(() => ended, "the slow reader to finish", 10_000);
  } finally {
    clearInterval(timer);
  }
  const stalls = await sending;
  assert.equal(sha256(concat(chunks)), sha256(data));
  assert.ok(peakUnconsumed <= window, `receiver held ${peakUnconsumed} unconsumed bytes`);
  assert.ok(stalls > 0, "the writer was never told to wait");
  // With one stream, the channel itself never holds more than that window.
  const peak = pair.guestChannel.peakBufferedAmount;
  assert.ok(peak <= window + 16 * HEADER_SIZE, `channel held ${peak} bytes`);
});

Deno.test("a RESET closes only its own stream; the other keeps flowing", async () => {
  await using pair = muxPair();
  const accepted: TunnelStream[] = [];
  pair.host.onstream = (s) => accepted.push(s);
  const doomed = pair.guest.openStream();
  const survivor = pair.guest.openStream();
  const doomedClosed = closedWith(doomed);
  doomed.write(new Uint8Array(10));
  await waitFor(() => accepted.length === 2, "both streams");

  accepted[0].reset("server went away");
  const error = await withTimeout(doomedClosed, 2000, "reset to arrive");
  assert.ok(error instanceof StreamResetError);
  assert.equal(error.reason, "server went away");
  assert.equal(error.remote, true);
  assert.equal(doomed.write(new Uint8Array(1)), false, "writing to a reset stream is refused");

  const echoed = readAll(accepted[1]);
  await writeAll(survivor, new TextEncoder().encode("still here"));
  assert.equal(new TextDecoder().decode(await withTimeout(echoed, 2000, "survivor")), "still here");
  assert.equal(pair.guest.closed, false);
});

Deno.test("a malformed frame closes the whole mux, and the peer learns why", async () => {
  await using pair = muxPair();
  pair.host.onstream = () => {};
  const stream = pair.guest.openStream();
  const streamClosed = closedWith(stream);
  const guestClosed = new Promise<string>((r) => pair.guest.onclose = r);
  pair.hostChannel.inject(Uint8Array.of(0xff, 0, 0, 0, 1, 2, 3));

  const reason = await withTimeout(guestClosed, 2000, "guest mux to close");
  assert.match(reason, /peer closed the tunnel: malformed frame from peer: tunnel frame type/);
  assert.match(pair.host.closeReason ?? "", /^malformed frame from peer/);
  const error = await streamClosed;
  assert.ok(error instanceof StreamResetError);
  assert.match(error.reason, /^tunnel closed/);
  assert.throws(() => pair.guest.openStream(), /tunnel closed/);
});

Deno.test("frames for unknown or closed stream ids are ignored", async () => {
  await using peer = rawPeer();
  peer.hello();
  for (
    const frame of [
      { type: "data", streamId: 99, data: new Uint8Array(3) },
      { type: "fin", streamId: 0x8000_0063 },
      { type: "credit", streamId: 42, credit: 100 },
      { type: "reset", streamId: 7, reason: "?" },
    ] as Frame[]
  ) {
    peer.send(frame);
  }
  peer.send({ type: "ping", opaque: new Uint8Array(8).fill(5) });
  await waitFor(() => peer.received.some((f) => f.type === "pong"), "PONG");
  assert.equal(peer.mux.closed, false);
  assert.deepEqual(peer.received.map((f) => f.type), ["hello", "pong"]);
});

Deno.test("OPENs beyond maxStreams are answered with RESET, the rest are served", async () => {
  await using pair = muxPair({ mux: { maxStreams: 2 } });
  const accepted: TunnelStream[] = [];
  pair.host.onstream = (s) => accepted.push(s);
  const streams = [1, 2, 3].map(() => pair.guest.openStream());
  const third = await withTimeout(closedWith(streams[2]), 2000, "third stream reset");
  assert.equal(third?.reason, "too many streams");
  assert.equal(accepted.length, 2);
  assert.equal(streams[0].closed, false);
});

const protocolErrors: { name: string; frames: Frame[]; reason: RegExp }[] = [
  {
    name: "a peer speaking another protocol version",
    frames: [{ type: "hello", version: 2, initialWindow: 0, maxPayload: 64 * KiB }],
    reason: /peer speaks tunnel protocol v2, we speak v1/,
  },
  {
    name: "a frame before HELLO",
    frames: [{ type: "open", streamId: 1 }],
    reason: /OPEN before HELLO/,
  },
  {
    name: "a second HELLO",
    frames: [
      { type: "hello", version: 1, initialWindow: 1, maxPayload: 64 * KiB },
      { type: "hello", version: 1, initialWindow: 1, maxPayload: 64 * KiB },
    ],
    reason: /second HELLO/,
  },
  {
    name: "a reused stream id",
    frames: [{ type: "hello", version: 1, initialWindow: 1, maxPayload: 64 * KiB }, {
      type: "open",
      streamId: 5,
    }, {
      type: "open",
      streamId: 5,
    }],
    reason: /reuses stream id 5/,
  },
];

for (const c of protocolErrors) {
  Deno.test(`${c.name} closes the mux with a clear reason`, async () => {
    await using peer = rawPeer();
    peer.mux.onstream = () => {};
    for (const frame of c.frames) {
      // Another version's HELLO cannot be encoded by our codec; write it by hand.
      if (frame.type === "hello" && frame.version !== 1) {
        peer.raw.send(Uint8Array.of(0, 0, 0, 0, 0, frame.version));
      } else peer.send(frame);
    }
    await waitFor(() => peer.mux.closed, "mux to close");
    assert.match(peer.mux.closeReason!, c.reason);
    await waitFor(() => peer.received.some((f) => f.type === "goaway"), "GOAWAY");
  });
}

Deno.test("a peer exceeding its window gets that stream reset, not the mux closed", async () => {
  await using peer = rawPeer({ initialWindow: 1000 });
  peer.mux.onstream = (s) => s.ondata = () => {};
  peer.hello();
  peer.send({ type: "open", streamId: 1 });
  peer.send({ type: "data", streamId: 1, data: new Uint8Array(600) });
  peer.send({ type: "data", streamId: 1, data: new Uint8Array(600) });
  await waitFor(() => peer.received.some((f) => f.type === "reset"), "RESET");
  assert.deepEqual(peer.received.find((f) => f.type === "reset"), {
    type: "reset",
    streamId: 0x8000_0001,
    reason: "protocol error: flow-control window exceeded",
  });
  assert.equal(peer.mux.closed, false);
});

/**
 * The test as the sender on `streamId` (opened by the test, accepted by the
 * mux): each round sends the whole allowance, waits until the credit for all
 * of it is back, and records the window (the allowance after the round).
 */
function sender(peer: ReturnType<typeof rawPeer>, streamId: number, initialWindow: number) {
  const wireId = (streamId | 0x8000_0000) >>> 0;
  const credited = () =>
    peer.received.reduce(
      (n, f) => f.type === "credit" && f.streamId === wireId ? n + f.credit : n,
      0,
    );
  let sent = 0;
  const allowance = () => initialWindow + credited() - sent;
  return async (rounds: number): Promise<number[]> => {
    const windows: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const window = allowance();
      for (let left = window; left > 0; left -= 16 * KiB) {
        peer.send({ type: "data", streamId, data: new Uint8Array(Math.min(16 * KiB, left)) });
      }
      sent += window;
      await waitFor(() => allowance() >= window, `credit for round ${r}`, 2000);
      windows.push(allowance());
    }
    return windows;
  };
}

Deno.test("a reader that keeps up doubles its stream's window, up to maxWindow", async () => {
  await using peer = rawPeer({ initialWindow: 64 * KiB, maxWindow: 256 * KiB });
  peer.mux.onstream = (s) => s.ondata = (c) => s.consume(c.byteLength);
  peer.hello();
  peer.send({ type: "open", streamId: 1 });
  const windows = await sender(peer, 1, 64 * KiB)(4);
  assert.deepEqual(windows, [128 * KiB, 256 * KiB, 256 * KiB, 256 * KiB]);
});

Deno.test("a reader that takes its time keeps the window it has", async () => {
  await using peer = rawPeer({ initialWindow: 64 * KiB, maxWindow: MiB });
  peer.mux.onstream = (s) => {
    // 8 KiB every 10 ms: a window takes ~80 ms, longer than GROW_WITHIN_MS.
    let waiting = 0;
    s.ondata = (c) => waiting += c.byteLength;
    const timer = setInterval(() => {
      const n = Math.min(waiting, 8 * KiB);
      waiting -= n;
      s.consume(n);
    }, 10);
    s.onclose = () => clearInterval(timer);
  };
  peer.hello();
  peer.send({ type: "open", streamId: 1 });
  assert.deepEqual(await sender(peer, 1, 64 * KiB)(2), [64 * KiB, 64 * KiB]);
  peer.send({ type: "reset", streamId: 1, reason: "done" });
  await waitFor(() => peer.mux.streamCount === 0, "the stream to close");
});

Deno.test("windows grow no further than windowBudget together, and a closed stream gives its growth back", async () => {
  await using peer = rawPeer({ initialWindow: 64 * KiB, maxWindow: MiB, windowBudget: 64 * KiB });
  peer.mux.onstream = (s) => s.ondata = (c) => s.consume(c.byteLength);
  peer.hello();
  peer.send({ type: "open", streamId: 1 });
  peer.send({ type: "open", streamId: 3 });
  const one = sender(peer, 1, 64 * KiB);
  const three = sender(peer, 3, 64 * KiB);
  assert.deepEqual(await one(2), [128 * KiB, 128 * KiB]);
  assert.deepEqual(await three(2), [64 * KiB, 64 * KiB], "the budget is spent");
  peer.send({ type: "reset", streamId: 1, reason: "done" });
  await waitFor(() => peer.mux.streamCount === 1, "stream 1 to close");
  assert.deepEqual(await three(1), [128 * KiB]);
});

Deno.test("DATA frames are as large as the peer's HELLO accepts: 64 KiB from older peers, 255 KiB from ours", async () => {
  for (
    const [announced, largest] of [[64 * KiB, 64 * KiB], [255 * KiB, 255 * KiB], [
      100 * KiB,
      100 * KiB,
    ]]
  ) {
    await using peer = rawPeer();
    peer.hello(announced);
    peer.mux.openStream().write(new Uint8Array(MiB));
    await waitFor(
      () =>
        peer.received.reduce((n, f) => f.type === "data" ? n + f.data.byteLength : n, 0) === MiB,
      "the megabyte",
    );
    const sizes = peer.received.flatMap((f) => f.type === "data" ? [f.data.byteLength] : []);
    assert.equal(Math.max(...sizes), largest, `peer accepting ${announced}`);
  }
});

Deno.test("data written before the peer's HELLO waits for it, then flows", async () => {
  await using peer = rawPeer();
  const stream = peer.mux.openStream();
  assert.equal(stream.write(new Uint8Array(100)), false, "no credit before HELLO");
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(peer.received.map((f) => f.type), ["hello", "open"]);
  peer.hello();
  await waitFor(() => peer.received.some((f) => f.type === "data"), "DATA after HELLO");
});

Deno.test("closing the channel closes the mux and resets every stream", async () => {
  await using pair = muxPair();
  const stream = pair.guest.openStream();
  const closed = closedWith(stream);
  const reason = new Promise<string>((r) => pair.guest.onclose = r);
  pair.hostChannel.close();
  assert.equal(await withTimeout(reason, 2000, "mux close"), "channel closed");
  assert.match((await closed)?.message ?? "", /tunnel closed: channel closed/);
});

Deno.test("a stream handler that throws resets only that stream", async () => {
  await using pair = muxPair();
  pair.host.onstream = (s) => {
    s.ondata = () => {
      throw new Error("handler bug");
    };
  };
  const stream = pair.guest.openStream();
  const closed = closedWith(stream);
  stream.write(new Uint8Array(1));
  assert.equal((await withTimeout(closed, 2000, "reset"))?.reason, "error: handler bug");
  assert.equal(pair.host.closed, false);
});

Deno.test("ping measures a round-trip time and fails once the mux is closed", async () => {
  await using pair = muxPair();
  const rtt = await withTimeout(pair.guest.ping(), 2000, "ping");
  assert.equal(typeof rtt, "number");
  assert.ok(rtt >= 0 && rtt < 2000);
  const pending = pair.host.ping();
  pair.host.close("done");
  await assert.rejects(pending, /tunnel closed: done/);
  await assert.rejects(pair.host.ping(), /tunnel closed/);
});

const badOptions: { options: MuxOptions; name: string }[] = [
  { options: { maxFramePayload: 0 }, name: "maxFramePayload" },
  { options: { maxFramePayload: MAX_DATA_PAYLOAD + 1 }, name: "maxFramePayload" },
  { options: { highWatermark: 16 * MiB }, name: "highWatermark" },
  { options: { highWatermark: MiB, lowWatermark: MiB }, name: "lowWatermark" },
  { options: { initialWindow: 0 }, name: "initialWindow" },
  { options: { initialWindow: 1.5 }, name: "initialWindow" },
  { options: { initialWindow: MiB, maxWindow: 512 * KiB }, name: "maxWindow" },
  { options: { maxWindow: 64 * KiB }, name: "maxWindow" }, // below the default initialWindow
  { options: { windowBudget: -1 }, name: "windowBudget" },
  { options: { maxStreams: 0 }, name: "maxStreams" },
  { options: { pollIntervalMs: 0 }, name: "pollIntervalMs" },
];

for (const c of badOptions) {
  Deno.test(`Mux refuses ${JSON.stringify(c.options)} naming ${c.name}`, () => {
    const [a] = memoryChannelPair();
    assert.throws(() => new Mux(a, c.options), new RegExp(`Mux option ${c.name} `));
  });
}
