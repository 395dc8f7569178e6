/** Message framing: header, message type packing, demultiplexing, malformed input. */
import assert from "node:assert/strict";
import {
  createMessage,
  decodeMessage,
  encodeMessage,
  isStunMessage,
  messageType,
  splitMessageType,
  StunClass,
  StunMethod,
} from "../../lib/stun/mod.ts";
import { assertDecodeError, hex } from "./_helpers.ts";

const TXID = hex("0102030405060708090a0b0c");

Deno.test("method and class pack into the message type as RFC 8489 §5 draws it", () => {
  const cases: [method: number, cls: StunClass, type: number][] = [
    [StunMethod.Binding, StunClass.Request, 0x0001],
    [StunMethod.Binding, StunClass.Indication, 0x0011],
    [StunMethod.Binding, StunClass.SuccessResponse, 0x0101],
    [StunMethod.Binding, StunClass.ErrorResponse, 0x0111],
    [0x003, StunClass.Request, 0x0003], // TURN Allocate
    [0x003, StunClass.SuccessResponse, 0x0103],
    [0x006, StunClass.Indication, 0x0016], // TURN Send indication
    [0xfff, StunClass.ErrorResponse, 0x3fff],
    [0x080, StunClass.Request, 0x0200],
  ];
  for (const [method, cls, type] of cases) {
    assert.equal(messageType(method, cls), type, `method 0x${method.toString(16)} class ${cls}`);
    assert.deepEqual(splitMessageType(type), { method, class: cls });
  }
});

Deno.test("every 14-bit message type splits and packs back to itself", () => {
  for (let type = 0; type < 0x4000; type++) {
    const { method, class: cls } = splitMessageType(type);
    assert.equal(messageType(method, cls), type);
  }
});

Deno.test("an attribute-less Binding request encodes to a bare 20-byte header", () => {
  const bytes = encodeMessage(createMessage(StunMethod.Binding, StunClass.Request, [], TXID));
  assert.deepEqual(bytes, hex("0001 0000 2112a442 0102030405060708090a0b0c"));
});

Deno.test("attribute values are padded to 4 bytes and the length counts the padding", () => {
  const msg = createMessage(StunMethod.Binding, StunClass.Indication, [
    { type: 0x8001, value: hex("aa") },
    { type: 0x8002, value: hex("") },
    { type: 0x8003, value: hex("bbccddee") },
  ], TXID);
  const bytes = encodeMessage(msg);
  assert.deepEqual(
    bytes,
    hex(`0011 0014 2112a442 0102030405060708090a0b0c
         8001 0001 aa000000
         8002 0000
         8003 0004 bbccddee`),
  );
  assert.deepEqual(decodeMessage(bytes).attributes, msg.attributes);
});

Deno.test("decoding copies the input, so reusing the receive buffer cannot change a message", () => {
  const bytes = encodeMessage(
    createMessage(
      StunMethod.Binding,
      StunClass.Request,
      [{ type: 0x8001, value: hex("aa") }],
      TXID,
    ),
  );
  const msg = decodeMessage(bytes);
  bytes.fill(0xff);
  assert.deepEqual(msg.transactionId, TXID);
  assert.deepEqual(msg.attributes[0].value, hex("aa"));
  assert.equal(msg.raw[0], 0x00);
});

Deno.test("isStunMessage tells STUN apart from DTLS, RTP and short datagrams", () => {
  const stun = encodeMessage(createMessage(StunMethod.Binding, StunClass.Request, [], TXID));
  const cases: [name: string, bytes: Uint8Array, expected: boolean][] = [
    ["a Binding request", stun, true],
    [
      "a DTLS handshake record",
      hex("16fefd 0000000000000000 0010 0100000c000000000000000c"),
      false,
    ],
    ["an RTP packet", hex("8060 0001 00000000 2112a442 0000000000000000"), false],
    ["19 bytes of a STUN header", stun.subarray(0, 19), false],
    ["a header with a wrong cookie", hex("0001 0000 2112a443 0102030405060708090a0b0c"), false],
    ["a header with length 2", hex("0001 0002 2112a442 0102030405060708090a0b0c"), false],
    ["nothing", new Uint8Array(0), false],
  ];
  for (const [name, bytes, expected] of cases) {
    assert.equal(isStunMessage(bytes), expected, name);
  }
});

Deno.test("malformed messages are refused with a StunDecodeError naming the field", () => {
  const header = "0001 0008 2112a442 0102030405060708090a0b0c";
  const cases: [name: string, bytes: string, field: string][] = [
    ["an empty datagram", "", "header"],
    ["a truncated header", "0001 0000 2112a442 01020304050607", "header"],
    ["the two top type bits set", "c001 0000 2112a442 0102030405060708090a0b0c", "type"],
    ["one top type bit set", "4001 0000 2112a442 0102030405060708090a0b0c", "type"],
    ["a wrong magic cookie", "0001 0000 2112a443 0102030405060708090a0b0c", "magicCookie"],
    [
      "an RFC 3489 header (no cookie)",
      "0001 0000 00000000 0102030405060708090a0b0c",
      "magicCookie",
    ],
    [
      "a length that is not a multiple of 4",
      "0001 0002 2112a442 0102030405060708090a0b0c 0000",
      "length",
    ],
    [
      "a length longer than the datagram",
      `0001 0010 2112a442 0102030405060708090a0b0c 8022 0000`,
      "length",
    ],
    [
      "bytes after the declared length",
      `0001 0000 2112a442 0102030405060708090a0b0c 8022 0000`,
      "length",
    ],
    ["an attribute longer than the message", `${header} 8022 0005 61626364`, "attribute.length"],
    ["an attribute of length 0xffff", `${header} 0006 ffff 00000000`, "attribute.length"],
    [
      "a second attribute past the end",
      "0001 000c 2112a442 0102030405060708090a0b0c 8022 0000 0006 0008 61626364",
      "attribute.length",
    ],
  ];
  for (const [name, bytes, field] of cases) {
    assertDecodeError(() => decodeMessage(hex(bytes)), field, name);
  }
});

Deno.test("encoding refuses messages that cannot be put on the wire", () => {
  const ok = () => createMessage(StunMethod.Binding, StunClass.Request, [], TXID);
  assert.throws(() => encodeMessage({ ...ok(), transactionId: new Uint8Array(11) }), RangeError);
  assert.throws(() => encodeMessage({ ...ok(), method: 0x1000 }), RangeError);
  assert.throws(
    () => encodeMessage({ ...ok(), attributes: [{ type: 0x10000, value: new Uint8Array() }] }),
    RangeError,
  );
  assert.throws(
    () => encodeMessage({ ...ok(), attributes: [{ type: 1, value: new Uint8Array(0x10000) }] }),
    RangeError,
  );
  const big = { type: 0x8001, value: new Uint8Array(0xfff8) };
  assert.throws(
    () => encodeMessage({ ...ok(), attributes: [big] }, { fingerprint: true }),
    RangeError,
  );
  assert.equal(encodeMessage({ ...ok(), attributes: [big] }).length, 20 + 4 + 0xfff8);
});
