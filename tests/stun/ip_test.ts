/** IP address text handling behind the address attributes. */
import assert from "node:assert/strict";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../../lib/stun/ip.ts";
import { hex, mulberry32 } from "./_helpers.ts";

Deno.test("IPv6 text parses to the right bytes and formats back in RFC 5952 form", () => {
  const cases: [input: string, bytes: string, canonical: string][] = [
    ["::", "00000000000000000000000000000000", "::"],
    ["::1", "00000000000000000000000000000001", "::1"],
    ["1::", "00010000000000000000000000000000", "1::"],
    ["2001:DB8::1", "20010db8000000000000000000000001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"],
    [
      "2001:0db8:0000:0000:0000:0000:0002:0001",
      "20010db8000000000000000000020001",
      "2001:db8::2:1",
    ],
    ["::ffff:192.0.2.1", "00000000000000000000ffffc0000201", "::ffff:192.0.2.1"],
    ["64:ff9b::192.0.2.1", "0064ff9b0000000000000000c0000201", "64:ff9b::c000:201"],
    ["fe80::1%eth0", "fe800000000000000000000000000001", "fe80::1"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000", "1:2:3:4:5:6:7:0"],
  ];
  for (const [input, bytes, canonical] of cases) {
    const parsed = parseIPv6(input);
    assert.deepEqual(parsed, hex(bytes), input);
    assert.equal(formatIPv6(parsed!), canonical, input);
  }
});

Deno.test("text that is not an IPv6 address is refused", () => {
  for (
    const input of [
      "",
      ":",
      ":::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "g::",
      "1.2.3.4",
      "::1.2.3.4:1",
      "::256.0.0.1",
      "1:2:3:4:5:6:7::8",
      "localhost",
    ]
  ) {
    assert.equal(parseIPv6(input), undefined, input);
  }
});

Deno.test("IPv4 text parses strictly and formats as a dotted quad", () => {
  assert.deepEqual(parseIPv4("192.0.2.1"), hex("c0000201"));
  assert.deepEqual(parseIPv4("255.255.255.255"), hex("ffffffff"));
  assert.equal(formatIPv4(hex("7f000001")), "127.0.0.1");
  for (const input of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d"]) {
    assert.equal(parseIPv4(input), undefined, input);
  }
});

Deno.test("random IPv6 addresses format and parse back to the same bytes", () => {
  const random = mulberry32(6);
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(16);
    // Bias towards zero groups so compression paths are exercised.
    for (let g = 0; g < 8; g++) {
      if (random() < 0.5) continue;
      bytes[g * 2] = random() * 256;
      bytes[g * 2 + 1] = random() * 256;
    }
    const text = formatIPv6(bytes);
    assert.deepEqual(parseIPv6(text), bytes, text);
  }
});
