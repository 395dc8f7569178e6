/** Each attribute's value encoding, and how malformed values are refused. */
import assert from "node:assert/strict";
import {
  AlternateServer,
  type AttributeCodec,
  ChangeRequest,
  createMessage,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  getAttribute,
  IceControlled,
  IceControlling,
  MappedAddress,
  Nonce,
  OtherAddress,
  Padding,
  Priority,
  Realm,
  ResponseOrigin,
  ResponsePort,
  setAttribute,
  Software,
  StunClass,
  StunMethod,
  UnknownAttributes,
  Username,
  XorMappedAddress,
} from "../../lib/stun/mod.ts";
import { assertDecodeError, hex, toHex } from "./_helpers.ts";

/** The RFC 5769 transaction id, so XOR results can be checked against §2.2/§2.3. */
const CTX = { transactionId: hex("b7e7a701 bc34d686 fa87dfae") };

interface Case<T> {
  name: string;
  codec: AttributeCodec<T>;
  value: T;
  wire: string;
}

const cases: Case<unknown>[] = [
  { name: "ASCII username", codec: Username, value: "evtj:h6vY", wire: "6576746a 3a683676 59" },
  {
    name: "non-ASCII username",
    codec: Username,
    value: "\u30de\u30c8\u30ea\u30c3\u30af\u30b9",
    wire: "e3839ee3 8388e383 aae38383 e382afe3 82b9",
  },
  { name: "empty software", codec: Software, value: "", wire: "" },
  { name: "software", codec: Software, value: "tun 0.1", wire: "74756e20 302e31" },
  { name: "realm", codec: Realm, value: "example.org", wire: "6578616d 706c652e 6f7267" },
  { name: "nonce", codec: Nonce, value: "f//499k9", wire: "662f2f34 39396b39" },
  {
    name: "a leading byte-order mark kept as text",
    codec: Software,
    value: "\ufeffx",
    wire: "efbbbf78",
  },
  { name: "priority", codec: Priority, value: 0x6e0001ff, wire: "6e0001ff" },
  {
    name: "ICE-CONTROLLED tie-breaker",
    codec: IceControlled,
    value: 0x932ff9b151263b36n,
    wire: "932ff9b1 51263b36",
  },
  {
    name: "ICE-CONTROLLING maximum",
    codec: IceControlling,
    value: 0xffffffffffffffffn,
    wire: "ffffffff ffffffff",
  },
  {
    name: "420 error",
    codec: ErrorCode,
    value: { code: 420, reason: "Unknown Attribute" },
    wire: "00000414 556e6b6e 6f776e20 41747472 69627574 65",
  },
  {
    name: "300 error with an empty reason",
    codec: ErrorCode,
    value: { code: 300, reason: "" },
    wire: "00000300",
  },
  { name: "699 error", codec: ErrorCode, value: { code: 699, reason: "x" }, wire: "00000663 78" },
  { name: "no unknown attributes", codec: UnknownAttributes, value: [], wire: "" },
  {
    name: "unknown CHANGE-REQUEST and RESPONSE-PORT",
    codec: UnknownAttributes,
    value: [0x0003, 0x0027],
    wire: "0003 0027",
  },
  {
    name: "IPv4 MAPPED-ADDRESS",
    codec: MappedAddress,
    value: { family: "IPv4", address: "192.0.2.1", port: 32853 },
    wire: "0001 8055 c0000201",
  },
  {
    name: "IPv6 MAPPED-ADDRESS",
    codec: MappedAddress,
    value: { family: "IPv6", address: "::1", port: 1 },
    wire: "0002 0001 00000000 00000000 00000000 00000001",
  },
  {
    name: "IPv4 ALTERNATE-SERVER on port 0",
    codec: AlternateServer,
    value: { family: "IPv4", address: "0.0.0.0", port: 0 },
    wire: "0001 0000 00000000",
  },
  {
    name: "IPv4 XOR-MAPPED-ADDRESS (RFC 5769 §2.2)",
    codec: XorMappedAddress,
    value: { family: "IPv4", address: "192.0.2.1", port: 32853 },
    wire: "0001 a147 e112a643",
  },
  {
    name: "IPv6 XOR-MAPPED-ADDRESS (RFC 5769 §2.3)",
    codec: XorMappedAddress,
    value: { family: "IPv6", address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 },
    wire: "0002 a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9",
  },
  {
    name: "IPv4-mapped IPv6 XOR-MAPPED-ADDRESS",
    codec: XorMappedAddress,
    value: { family: "IPv6", address: "::ffff:127.0.0.1", port: 65535 },
    wire: "0002 deed 2112a442 b7e7a701 bc342979 8587dfaf",
  },
  // RFC 5780 §7: NAT behaviour discovery.
  {
    name: "no change",
    codec: ChangeRequest,
    value: { changeIp: false, changePort: false },
    wire: "00000000",
  },
  {
    name: "change IP (flag A)",
    codec: ChangeRequest,
    value: { changeIp: true, changePort: false },
    wire: "00000004",
  },
  {
    name: "change port (flag B)",
    codec: ChangeRequest,
    value: { changeIp: false, changePort: true },
    wire: "00000002",
  },
  {
    name: "change IP and port",
    codec: ChangeRequest,
    value: { changeIp: true, changePort: true },
    wire: "00000006",
  },
  { name: "port 3479", codec: ResponsePort, value: 3479, wire: "0d97 0000" },
  { name: "port 65535", codec: ResponsePort, value: 65535, wire: "ffff 0000" },
  { name: "no padding", codec: Padding, value: 0, wire: "" },
  { name: "7 bytes of padding", codec: Padding, value: 7, wire: "00000000 000000" },
  {
    name: "IPv4 RESPONSE-ORIGIN",
    codec: ResponseOrigin,
    value: { family: "IPv4", address: "192.0.2.1", port: 3478 },
    wire: "0001 0d96 c0000201",
  },
  {
    name: "IPv6 OTHER-ADDRESS",
    codec: OtherAddress,
    value: { family: "IPv6", address: "2001:db8::2", port: 3479 },
    wire: "0002 0d97 20010db8 00000000 00000000 00000002",
  },
];

for (const { name, codec, value, wire } of cases) {
  Deno.test(`${codec.name}: ${name} encodes to the expected bytes and decodes back`, () => {
    const bytes = codec.encode(value, CTX);
    assert.equal(toHex(bytes), toHex(hex(wire)));
    assert.deepEqual(codec.decode(bytes, CTX), value);
  });
}

Deno.test("an attribute set on a message survives encoding and decoding", () => {
  const msg = createMessage(StunMethod.Binding, StunClass.SuccessResponse, [], CTX.transactionId);
  setAttribute(msg, XorMappedAddress, { family: "IPv4", address: "203.0.113.7", port: 4242 });
  setAttribute(msg, Software, "first");
  setAttribute(msg, Software, "second"); // replaces, does not add
  const back = decodeMessage(encodeMessage(msg));
  assert.equal(back.attributes.length, 2);
  assert.equal(getAttribute(back, Software), "second");
  assert.deepEqual(getAttribute(back, XorMappedAddress), {
    family: "IPv4",
    address: "203.0.113.7",
    port: 4242,
  });
  assert.equal(getAttribute(back, Username), undefined);
});

Deno.test("address decoding ignores the reserved first byte, as RFC 8489 §14.1 says", () => {
  assert.deepEqual(MappedAddress.decode(hex("ff01 8055 c0000201"), CTX), {
    family: "IPv4",
    address: "192.0.2.1",
    port: 32853,
  });
});

Deno.test("malformed attribute values are refused with a StunDecodeError naming the field", () => {
  const ipv6Value = "0002 0001 00000000 00000000 00000000 00000001";
  const cases: [name: string, codec: AttributeCodec<unknown>, wire: string, field: string][] = [
    ["empty address", XorMappedAddress, "", "XOR-MAPPED-ADDRESS.length"],
    ["3-byte address", MappedAddress, "000180", "MAPPED-ADDRESS.length"],
    ["address family 0", XorMappedAddress, "0000 8055 c0000201", "XOR-MAPPED-ADDRESS.family"],
    ["address family 3", MappedAddress, "0003 8055 c0000201", "MAPPED-ADDRESS.family"],
    [
      "IPv4 family with IPv6 length",
      XorMappedAddress,
      ipv6Value.replace("0002", "0001"),
      "XOR-MAPPED-ADDRESS.length",
    ],
    [
      "IPv6 family with IPv4 length",
      XorMappedAddress,
      "0002 8055 c0000201",
      "XOR-MAPPED-ADDRESS.length",
    ],
    [
      "IPv4 address with a byte extra",
      MappedAddress,
      "0001 8055 c0000201 00",
      "MAPPED-ADDRESS.length",
    ],
    ["3-byte error code", ErrorCode, "000004", "ERROR-CODE.length"],
    ["error class 2", ErrorCode, "00000200", "ERROR-CODE.class"],
    ["error class 7", ErrorCode, "00000700", "ERROR-CODE.class"],
    ["error number 100", ErrorCode, "00000464", "ERROR-CODE.number"],
    ["error reason not UTF-8", ErrorCode, "00000414 ff", "ERROR-CODE.reason"],
    ["odd-length unknown list", UnknownAttributes, "000300", "UNKNOWN-ATTRIBUTES.length"],
    ["username not UTF-8", Username, "c328", "USERNAME"],
    ["username cut mid-character", Username, "e383", "USERNAME"],
    ["software with a lone surrogate", Software, "eda080", "SOFTWARE"],
    ["764-byte realm", Realm, "61".repeat(764), "REALM"],
    ["3-byte priority", Priority, "6e0001", "PRIORITY.length"],
    ["4-byte tie-breaker", IceControlled, "932ff9b1", "ICE-CONTROLLED.length"],
    ["empty change request", ChangeRequest, "", "CHANGE-REQUEST.length"],
    ["1-byte change request", ChangeRequest, "06", "CHANGE-REQUEST.length"],
    ["8-byte change request", ChangeRequest, "00000006 00000000", "CHANGE-REQUEST.length"],
    ["3-byte response port", ResponsePort, "0d9700", "RESPONSE-PORT.length"],
    ["empty response port", ResponsePort, "", "RESPONSE-PORT.length"],
    ["response origin family 9", ResponseOrigin, "0009 0d96 c0000201", "RESPONSE-ORIGIN.family"],
    ["5-byte other address", OtherAddress, "0001 0d96 c0", "OTHER-ADDRESS.length"],
  ];
  for (const [name, codec, wire, field] of cases) {
    assertDecodeError(() => codec.decode(hex(wire), CTX), field, name);
  }
});

Deno.test("RFC 5780 attributes carry the types IANA registered for them (RFC 5780 §9.1)", () => {
  assert.deepEqual(
    [ChangeRequest, Padding, ResponsePort, ResponseOrigin, OtherAddress].map((c) => [
      c.name,
      c.type,
    ]),
    [
      ["CHANGE-REQUEST", 0x0003],
      ["PADDING", 0x0026],
      ["RESPONSE-PORT", 0x0027],
      ["RESPONSE-ORIGIN", 0x802b],
      ["OTHER-ADDRESS", 0x802c],
    ],
  );
});

Deno.test("CHANGE-REQUEST ignores bits other than A and B, and RESPONSE-PORT may be 2 bytes", () => {
  assert.deepEqual(ChangeRequest.decode(hex("fffffff9"), CTX), {
    changeIp: false,
    changePort: false,
  });
  assert.deepEqual(ChangeRequest.decode(hex("80000006"), CTX), {
    changeIp: true,
    changePort: true,
  });
  assert.equal(ResponsePort.decode(hex("0d97"), CTX), 3479);
  assert.equal(Padding.decode(hex("ff".repeat(1500)), CTX), 1500);
});

Deno.test("a malformed attribute inside a well-framed message fails only when read", () => {
  const msg = createMessage(StunMethod.Binding, StunClass.SuccessResponse, [
    { type: XorMappedAddress.type, value: hex("0005 8055 c0000201") },
    { type: Software.type, value: hex("6f6b") },
  ], CTX.transactionId);
  const back = decodeMessage(encodeMessage(msg));
  assert.equal(getAttribute(back, Software), "ok");
  assertDecodeError(() => getAttribute(back, XorMappedAddress), "XOR-MAPPED-ADDRESS.family");
});

Deno.test("values the RFC forbids are refused when encoding", () => {
  const refused: [name: string, encode: () => unknown, error: typeof RangeError][] = [
    ["a 509-byte username", () => Username.encode("u".repeat(509), CTX), RangeError],
    ["a 128-character software", () => Software.encode("\u00e9".repeat(128), CTX), RangeError],
    ["error code 299", () => ErrorCode.encode({ code: 299, reason: "" }, CTX), RangeError],
    ["error code 700", () => ErrorCode.encode({ code: 700, reason: "" }, CTX), RangeError],
    [
      "a fractional error code",
      () => ErrorCode.encode({ code: 420.5, reason: "" }, CTX),
      RangeError,
    ],
    ["a negative priority", () => Priority.encode(-1, CTX), RangeError],
    ["a 65-bit tie-breaker", () => IceControlled.encode(1n << 64n, CTX), RangeError],
    ["an unknown type above 0xffff", () => UnknownAttributes.encode([0x10000], CTX), RangeError],
    ["RESPONSE-PORT 65536", () => ResponsePort.encode(65536, CTX), RangeError],
    ["a negative PADDING", () => Padding.encode(-4, CTX), RangeError],
    ["PADDING over 65535 bytes", () => Padding.encode(65536, CTX), RangeError],
    [
      "port 65536",
      () => MappedAddress.encode({ family: "IPv4", address: "1.2.3.4", port: 65536 }, CTX),
      RangeError,
    ],
    [
      "an IPv6 address as IPv4",
      () => MappedAddress.encode({ family: "IPv4", address: "::1", port: 1 }, CTX),
      TypeError,
    ],
    [
      "a host name",
      () => XorMappedAddress.encode({ family: "IPv4", address: "localhost", port: 1 }, CTX),
      TypeError,
    ],
  ];
  for (const [name, encode, error] of refused) {
    assert.throws(encode, error, name);
  }
  assert.equal(Username.encode("u".repeat(508), CTX).length, 508);
  assert.equal(Software.encode("\u00e9".repeat(127), CTX).length, 254);
});
