/** TURN's attribute codecs (lib/stun/attributes.ts, RFC 8656 §18): wire bytes both ways. */
import assert from "node:assert/strict";
import {
  type AttributeCodec,
  ChannelNumber,
  Data,
  decodeMessage,
  DontFragment,
  encodeMessage,
  EvenPort,
  getAttribute,
  Lifetime,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
  setAttribute,
  StunClass,
  StunDecodeError,
  XorPeerAddress,
  XorRelayedAddress,
} from "../../lib/stun/mod.ts";
import { createMessage } from "../../lib/stun/mod.ts";
import { TurnMethod } from "../../lib/turn/mod.ts";
import { hex, toHex } from "../stun/_helpers.ts";

const ctx = { transactionId: hex("b7e7a701bc34d686fa87dfae") };

// deno-lint-ignore no-explicit-any
const cases: { codec: AttributeCodec<any>; value: unknown; wire: string }[] = [
  { codec: ChannelNumber, value: 0x4000, wire: "4000 0000" },
  { codec: ChannelNumber, value: 0x4fff, wire: "4fff 0000" },
  { codec: Lifetime, value: 600, wire: "0000 0258" },
  { codec: Data, value: hex("01020304 05"), wire: "01020304 05" },
  { codec: Data, value: new Uint8Array(0), wire: "" },
  { codec: RequestedTransport, value: 17, wire: "11 000000" },
  { codec: RequestedAddressFamily, value: "IPv4", wire: "01 000000" },
  { codec: RequestedAddressFamily, value: "IPv6", wire: "02 000000" },
  { codec: EvenPort, value: { reserveNext: true }, wire: "80" },
  { codec: EvenPort, value: { reserveNext: false }, wire: "00" },
  { codec: DontFragment, value: true, wire: "" },
  { codec: ReservationToken, value: 0x0102030405060708n, wire: "0102030405060708" },
  // XOR with the magic cookie: 192.0.2.1:32853 as in RFC 5769 §2.2's response.
  {
    codec: XorPeerAddress,
    value: { family: "IPv4", address: "192.0.2.1", port: 32853 },
    wire: "0001 a147 e112a643",
  },
  {
    codec: XorRelayedAddress,
    value: { family: "IPv4", address: "192.0.2.1", port: 32853 },
    wire: "0001 a147 e112a643",
  },
];

Deno.test("each TURN attribute encodes to its RFC 8656 wire bytes and decodes back", () => {
  for (const { codec, value, wire } of cases) {
    const bytes = codec.encode(value, ctx);
    assert.equal(toHex(bytes), wire.replace(/\s+/g, ""), `${codec.name} encode`);
    assert.deepEqual(codec.decode(bytes, ctx), value, `${codec.name} decode`);
  }
});

Deno.test("TURN attributes decode inside a message and survive the round trip", () => {
  const msg = createMessage(TurnMethod.ChannelBind, StunClass.Request, [], ctx.transactionId);
  setAttribute(msg, ChannelNumber, 0x4abc);
  setAttribute(msg, XorPeerAddress, { family: "IPv6", address: "2001:db8::7", port: 9 });
  setAttribute(msg, EvenPort, { reserveNext: true });
  const back = decodeMessage(encodeMessage(msg));
  assert.equal(getAttribute(back, ChannelNumber), 0x4abc);
  assert.deepEqual(getAttribute(back, XorPeerAddress), {
    family: "IPv6",
    address: "2001:db8::7",
    port: 9,
  });
  assert.deepEqual(getAttribute(back, EvenPort), { reserveNext: true });
});

Deno.test("malformed TURN attribute values fail with a StunDecodeError naming the field", () => {
  const bad: [AttributeCodec<unknown>, string, string][] = [
    [ChannelNumber, "4000", "CHANNEL-NUMBER.length"],
    [ChannelNumber, "4000000000", "CHANNEL-NUMBER.length"],
    [Lifetime, "000258", "LIFETIME.length"],
    [RequestedTransport, "11", "REQUESTED-TRANSPORT.length"],
    [RequestedAddressFamily, "03000000", "REQUESTED-ADDRESS-FAMILY.family"],
    [RequestedAddressFamily, "0100", "REQUESTED-ADDRESS-FAMILY.length"],
    [EvenPort, "", "EVEN-PORT.length"],
    [EvenPort, "8000", "EVEN-PORT.length"],
    [DontFragment, "00", "DONT-FRAGMENT.length"],
    [ReservationToken, "01020304", "RESERVATION-TOKEN.length"],
    [XorPeerAddress, "0003a147e112a643", "XOR-PEER-ADDRESS.family"],
    [XorRelayedAddress, "0001a147", "XOR-RELAYED-ADDRESS.length"],
  ];
  for (const [codec, wire, field] of bad) {
    assert.throws(
      () => codec.decode(hex(wire), ctx),
      (err: unknown) => err instanceof StunDecodeError && err.field === field,
      `${codec.name} ${wire}`,
    );
  }
});

Deno.test("values the RFC forbids are refused when encoding", () => {
  assert.throws(() => ChannelNumber.encode(0x10000, ctx), RangeError);
  assert.throws(() => RequestedTransport.encode(256, ctx), RangeError);
  assert.throws(() => Lifetime.encode(-1, ctx), RangeError);
  assert.throws(() => Data.encode(new Uint8Array(0x10000), ctx), RangeError);
});
