/** The TCP stream deframer (RFC 8656 §3.1, §12.5): STUN and ChannelData back to back. */
import assert from "node:assert/strict";
import { createMessage, encodeMessage, StunClass, StunMethod } from "../../lib/stun/mod.ts";
import { encodeChannelData, StreamDeframer, TurnDecodeError } from "../../lib/turn/mod.ts";
import { hex } from "../stun/_helpers.ts";

const stun = encodeMessage(createMessage(StunMethod.Binding, StunClass.Request));
const channel = encodeChannelData(0x4001, hex("616263"), true); // 8 bytes with padding

function feed(chunks: Uint8Array[]) {
  const deframer = new StreamDeframer();
  return chunks.flatMap((c) => deframer.push(c));
}

Deno.test("the deframer cuts STUN and padded ChannelData frames at their length fields, however the bytes arrive", () => {
  const stream = new Uint8Array([...stun, ...channel, ...stun, ...channel]);
  const expected = [
    { kind: "stun", bytes: stun },
    { kind: "channel", bytes: channel },
    { kind: "stun", bytes: stun },
    { kind: "channel", bytes: channel },
  ];
  const splits: [string, Uint8Array[]][] = [
    ["one chunk", [stream]],
    ["byte by byte", Array.from(stream, (b) => new Uint8Array([b]))],
    ["split inside a header", [stream.subarray(0, 3), stream.subarray(3, 25), stream.subarray(25)]],
    ["split on frame edges", [
      stream.subarray(0, 20),
      stream.subarray(20, 28),
      stream.subarray(28),
    ]],
    ["with empty chunks", [new Uint8Array(0), stream, new Uint8Array(0)]],
  ];
  for (const [name, chunks] of splits) assert.deepEqual(feed(chunks), expected, name);
});

Deno.test("the deframer holds a partial frame until the rest arrives", () => {
  const deframer = new StreamDeframer();
  assert.deepEqual(deframer.push(channel.subarray(0, 7)), []);
  assert.equal(deframer.buffered, 7, "the padding byte is still to come");
  assert.deepEqual(deframer.push(channel.subarray(7)), [{ kind: "channel", bytes: channel }]);
  assert.equal(deframer.buffered, 0);
});

Deno.test("a corrupt stream fails with a TurnDecodeError naming the field, and stays failed", () => {
  const cases: [string, string][] = [
    ["80000000", "stream.frameType"],
    ["c0000000", "stream.frameType"],
    ["00010002", "stream.stunLength"],
    ["00010000 21124443", "stream.magicCookie"],
  ];
  for (const [wire, field] of cases) {
    const deframer = new StreamDeframer();
    const isField = (err: unknown) => err instanceof TurnDecodeError && err.field === field;
    assert.throws(() => deframer.push(hex(wire)), isField, wire);
    assert.throws(() => deframer.push(stun), isField, `${wire}: later input`);
    assert.equal(deframer.buffered, 0, "nothing kept after failure");
  }
});

Deno.test("frames over maxFrameBytes are refused from their header, before their body arrives", () => {
  const deframer = new StreamDeframer({ maxFrameBytes: 100 });
  assert.throws(
    () => deframer.push(hex("4000 0100")), // a 260-byte ChannelData, 4 bytes of it sent
    (err: unknown) => err instanceof TurnDecodeError && err.field === "stream.length",
  );
  const stunLimit = new StreamDeframer({ maxFrameBytes: 100 });
  assert.throws(
    () => stunLimit.push(hex("0001 0100 2112a442")),
    (err: unknown) => err instanceof TurnDecodeError && err.field === "stream.length",
  );
  // The default admits the largest frame a 16-bit length allows.
  const largest = new Uint8Array(4 + 0xffff + 1);
  largest.set(hex("4000 ffff"));
  assert.equal(new StreamDeframer().push(largest).length, 1);
  assert.throws(() => new StreamDeframer({ maxFrameBytes: 4 }), RangeError);
});
