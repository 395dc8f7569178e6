/** ChannelData framing (RFC 8656 §12.4-12.5). */
import assert from "node:assert/strict";
import { decodeChannelData, encodeChannelData, TurnDecodeError } from "../../lib/turn/mod.ts";
import { hex, toHex } from "../stun/_helpers.ts";

Deno.test("ChannelData encodes as channel, length, data, and pads to 4 bytes only when asked", () => {
  const cases: [number, string, boolean, string][] = [
    [0x4000, "", false, "4000 0000"],
    [0x4000, "", true, "4000 0000"],
    [0x4001, "61", false, "4001 0001 61"],
    [0x4001, "61", true, "4001 0001 61000000"],
    [0x4fff, "61626364", true, "4fff 0004 61626364"],
    [0x7fff, "616263", true, "7fff 0003 61626300"],
  ];
  for (const [channel, data, pad, wire] of cases) {
    const bytes = encodeChannelData(channel, hex(data), pad);
    assert.equal(toHex(bytes), wire.replace(/\s+/g, ""), `${channel.toString(16)} ${data} ${pad}`);
    assert.deepEqual(decodeChannelData(bytes), { channel, data: hex(data) });
  }
  assert.throws(() => encodeChannelData(0x3fff, new Uint8Array(1)), RangeError);
  assert.throws(() => encodeChannelData(0x8000, new Uint8Array(1)), RangeError);
  assert.throws(() => encodeChannelData(0x4000, new Uint8Array(0x10000)), RangeError);
});

Deno.test("ChannelData decoding refuses short input and ignores trailing padding", () => {
  const bad: [string, string][] = [
    ["", "ChannelData.header"],
    ["4000 00", "ChannelData.header"],
    ["0001 0000", "ChannelData.channel"],
    ["8000 0000", "ChannelData.channel"],
    ["4000 0005 61626364", "ChannelData.length"],
  ];
  for (const [wire, field] of bad) {
    assert.throws(
      () => decodeChannelData(hex(wire)),
      (err: unknown) => err instanceof TurnDecodeError && err.field === field,
      wire,
    );
  }
  assert.deepEqual(decodeChannelData(hex("4000 0001 61 000000 ffff")), {
    channel: 0x4000,
    data: hex("61"),
  });
});
