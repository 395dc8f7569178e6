import assert from "node:assert/strict";
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameDecodeError,
  HEADER_SIZE,
  MAX_DATA_PAYLOAD,
  MAX_FRAME_SIZE,
  truncateUtf8,
} from "../../lib/tunnel/frame.ts";
import { mulberry32, randomBytes } from "./helpers.ts";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const text = (s: string) => new TextEncoder().encode(s);

const vectors: { name: string; wire: string; frame: Frame }[] = [
  {
    name: "HELLO v1 announcing a 1 MiB window (and, as the first v1 peers did, no max)",
    wire: "00 00000000 01 000000 00100000",
    frame: { type: "hello", version: 1, initialWindow: 1024 * 1024, maxPayload: 64 * 1024 },
  },
  {
    name: "HELLO v1 accepting DATA of up to 255 KiB",
    wire: "00 00000000 01 0000ff 00040000",
    frame: { type: "hello", version: 1, initialWindow: 256 * 1024, maxPayload: 255 * 1024 },
  },
  { name: "OPEN of stream 1", wire: "01 00000001", frame: { type: "open", streamId: 1 } },
  {
    name: "DATA on a stream the receiver opened (bit 31 set)",
    wire: "02 80000003 6869",
    frame: { type: "data", streamId: 0x8000_0003, data: text("hi") },
  },
  { name: "FIN", wire: "03 00000007", frame: { type: "fin", streamId: 7 } },
  {
    name: "CREDIT of 64 KiB",
    wire: "04 00000001 00010000",
    frame: { type: "credit", streamId: 1, credit: 65536 },
  },
  {
    name: "RESET with a reason",
    wire: "05 80000001 72656675736564",
    frame: { type: "reset", streamId: 0x8000_0001, reason: "refused" },
  },
  {
    name: "RESET without a reason",
    wire: "05 00000002",
    frame: { type: "reset", streamId: 2, reason: "" },
  },
  {
    name: "PING",
    wire: "06 00000000 0102030405060708",
    frame: { type: "ping", opaque: hex("0102030405060708") },
  },
  {
    name: "PONG",
    wire: "07 00000000 0102030405060708",
    frame: { type: "pong", opaque: hex("0102030405060708") },
  },
  { name: "GOAWAY", wire: "08 00000000 627965", frame: { type: "goaway", reason: "bye" } },
];

for (const v of vectors) {
  Deno.test(`frame codec encodes and decodes ${v.name}`, () => {
    const wire = hex(v.wire);
    assert.deepEqual(encodeFrame(v.frame), wire);
    assert.deepEqual(decodeFrame(wire), v.frame);
  });
}

Deno.test("frame codec reports a HELLO of another version as that version, not as malformed", () => {
  assert.deepEqual(decodeFrame(hex("00 00000000 02 ffff")), {
    type: "hello",
    version: 2,
    initialWindow: 0,
    maxPayload: 64 * 1024,
  });
});

Deno.test("frame codec decodes a DATA frame of the maximum size", () => {
  const wire = new Uint8Array(MAX_FRAME_SIZE);
  wire.set(hex("02 00000001"));
  const frame = decodeFrame(wire);
  assert.equal(frame.type === "data" && frame.data.byteLength, MAX_DATA_PAYLOAD);
});

const malformed: { name: string; wire: Uint8Array; field: string }[] = [
  { name: "an empty message", wire: hex(""), field: "header" },
  { name: "a message shorter than the header", wire: hex("02 000000"), field: "header" },
  {
    name: "a message over the size limit",
    wire: new Uint8Array(MAX_FRAME_SIZE + 1),
    field: "length",
  },
  { name: "an unknown frame type", wire: hex("09 00000000"), field: "type" },
  { name: "frame type 0xff", wire: hex("ff 00000001 00"), field: "type" },
  { name: "HELLO on a stream", wire: hex("00 00000001 01 000000 00001000"), field: "streamId" },
  { name: "HELLO without a version", wire: hex("00 00000000"), field: "version" },
  { name: "HELLO v1 cut short", wire: hex("00 00000000 01 000000 000010"), field: "payload" },
  {
    name: "HELLO v1 with a zero window",
    wire: hex("00 00000000 01 000000 00000000"),
    field: "initialWindow",
  },
  { name: "OPEN of stream 0", wire: hex("01 00000000"), field: "streamId" },
  { name: "OPEN with bit 31 set", wire: hex("01 80000001"), field: "streamId" },
  { name: "OPEN with a payload", wire: hex("01 00000001 00"), field: "payload" },
  { name: "DATA on stream 0", wire: hex("02 00000000 00"), field: "streamId" },
  { name: "DATA on stream 0 with bit 31", wire: hex("02 80000000 00"), field: "streamId" },
  { name: "DATA without payload", wire: hex("02 00000001"), field: "payload" },
  { name: "FIN with a payload", wire: hex("03 00000001 00"), field: "payload" },
  { name: "FIN on stream 0", wire: hex("03 00000000"), field: "streamId" },
  { name: "CREDIT of 3 bytes", wire: hex("04 00000001 000100"), field: "payload" },
  { name: "CREDIT of zero", wire: hex("04 00000001 00000000"), field: "credit" },
  { name: "RESET with invalid UTF-8", wire: hex("05 00000001 ff"), field: "reason" },
  {
    name: "RESET with a 257-byte reason",
    wire: new Uint8Array([...hex("05 00000001"), ...new Uint8Array(257).fill(0x61)]),
    field: "reason",
  },
  { name: "PING of 7 bytes", wire: hex("06 00000000 01020304050607"), field: "payload" },
  { name: "PONG on a stream", wire: hex("07 00000001 0102030405060708"), field: "streamId" },
  { name: "GOAWAY on a stream", wire: hex("08 00000001"), field: "streamId" },
];

for (const m of malformed) {
  Deno.test(`frame codec rejects ${m.name} naming the field "${m.field}"`, () => {
    assert.throws(
      () => decodeFrame(m.wire),
      (e) => e instanceof FrameDecodeError && e.field === m.field,
    );
  });
}

const unencodable: { name: string; frame: Frame }[] = [
  { name: "an empty DATA frame", frame: { type: "data", streamId: 1, data: new Uint8Array(0) } },
  {
    name: "DATA over 64 KiB",
    frame: { type: "data", streamId: 1, data: new Uint8Array(MAX_DATA_PAYLOAD + 1) },
  },
  { name: "OPEN with bit 31 set", frame: { type: "open", streamId: 0x8000_0001 } },
  { name: "a zero CREDIT", frame: { type: "credit", streamId: 1, credit: 0 } },
  { name: "a 257-byte reason", frame: { type: "reset", streamId: 1, reason: "x".repeat(257) } },
  { name: "a 7-byte PING", frame: { type: "ping", opaque: new Uint8Array(7) } },
  { name: "DATA on stream 0", frame: { type: "data", streamId: 0, data: new Uint8Array(1) } },
];

for (const u of unencodable) {
  Deno.test(`frame codec refuses to encode ${u.name}`, () => {
    assert.throws(() => encodeFrame(u.frame), RangeError);
  });
}

Deno.test("truncateUtf8 keeps a reason within 256 bytes without splitting a character", () => {
  const cut = truncateUtf8("é".repeat(200));
  assert.equal(cut, "é".repeat(128));
  assert.equal(truncateUtf8("short"), "short");
  assert.equal(new TextEncoder().encode(truncateUtf8("€".repeat(100))).byteLength, 255);
});

/** A random valid frame. */
function randomFrame(rand: () => number): Frame {
  // Bit 31 may be set except on OPEN; the low 31 bits are never all zero.
  const openId = (rand() & 0x7fff_ffff) || 1;
  const streamId = (openId | (rand() & 0x8000_0000)) >>> 0;
  const reason = () => new TextDecoder().decode(randomBytes(rand, rand() % 80)).slice(0, 60);
  switch (rand() % 9) {
    case 0:
      return {
        type: "hello",
        version: 1,
        initialWindow: rand() || 1,
        maxPayload: 1024 * (1 + (rand() % 0xffff)),
      };
    case 1:
      return { type: "open", streamId: openId };
    case 2:
      return { type: "data", streamId, data: randomBytes(rand, 1 + (rand() % 300)) };
    case 3:
      return { type: "fin", streamId };
    case 4:
      return { type: "credit", streamId, credit: rand() || 1 };
    case 5:
      return { type: "reset", streamId, reason: truncateUtf8(reason()) };
    case 6:
      return { type: "ping", opaque: randomBytes(rand, 8).slice() };
    case 7:
      return { type: "pong", opaque: randomBytes(rand, 8).slice() };
    default:
      return { type: "goaway", reason: truncateUtf8(reason()) };
  }
}

Deno.test("frame codec round-trips 10,000 random valid frames", () => {
  const rand = mulberry32(0x7e11);
  for (let i = 0; i < 10_000; i++) {
    const frame = randomFrame(rand);
    assert.deepEqual(decodeFrame(encodeFrame(frame)), frame);
  }
});

Deno.test("frame codec throws only FrameDecodeError for 100,000 random and mutated messages", () => {
  const rand = mulberry32(20_240_601);
  let decoded = 0;
  for (let i = 0; i < 100_000; i++) {
    let wire: Uint8Array;
    switch (rand() % 5) {
      case 0: // random bytes; one in 50 a header in front of a body near the size limit
        if (rand() % 50 === 0) {
          wire = new Uint8Array(MAX_FRAME_SIZE - 2 + (rand() % 5));
          wire.set(randomBytes(rand, HEADER_SIZE));
        } else {
          wire = randomBytes(rand, rand() % 40).slice();
        }
        break;
      case 1: // a valid frame cut short
        wire = encodeFrame(randomFrame(rand));
        wire = wire.subarray(0, rand() % (wire.byteLength + 1));
        break;
      case 2: { // a valid frame with bytes appended
        const valid = encodeFrame(randomFrame(rand));
        wire = new Uint8Array(valid.byteLength + 1 + (rand() % 8));
        wire.set(valid);
        wire.set(randomBytes(rand, wire.byteLength - valid.byteLength), valid.byteLength);
        break;
      }
      default: { // a valid frame with a few bytes flipped
        wire = encodeFrame(randomFrame(rand));
        for (let flips = 1 + (rand() % 3); flips > 0; flips--) {
          wire[rand() % wire.byteLength] ^= 1 << (rand() % 8);
        }
      }
    }
    let frame: Frame;
    try {
      frame = decodeFrame(wire);
    } catch (err) {
      if (!(err instanceof FrameDecodeError)) {
        throw new Error(`input ${i} threw ${err}`, { cause: err });
      }
      continue;
    }
    decoded++;
    // Whatever decodes must survive decode -> encode -> decode unchanged.
    if (frame.type === "hello" && frame.version !== 1) continue;
    assert.deepEqual(decodeFrame(encodeFrame(frame)), frame);
  }
  assert.ok(
    decoded > 1000,
    `only ${decoded} mutated inputs decoded; the fuzzer is not reaching the codec`,
  );
});
