/**
 * The TURN peer policy (lib/turn/peer_policy.ts): every spelling of a
 * forbidden address is forbidden, the coturn CVE-2020-26262 class included.
 */
import assert from "node:assert/strict";
import { isIP } from "node:net";
import { classifyPeer, isForbiddenPeer, type PeerClass, sameAddress } from "../../lib/turn/mod.ts";
import { prng } from "../_util/prng.ts";

const CASES: [string, PeerClass, string][] = [
  // Loopback, and the ways it has been smuggled past TURN servers.
  ["127.0.0.1", "private", "IPv4 loopback"],
  ["127.255.255.254", "private", "the rest of 127/8"],
  ["::1", "private", "IPv6 loopback"],
  ["0:0:0:0:0:0:0:1", "private", "IPv6 loopback, uncompressed"],
  ["::ffff:127.0.0.1", "private", "IPv4-mapped loopback"],
  ["::ffff:7f00:1", "private", "IPv4-mapped loopback in hex"],
  ["0:0:0:0:0:FFFF:7F00:0001", "private", "IPv4-mapped loopback, uppercase, leading zeros"],
  ["::127.0.0.1", "private", "IPv4-compatible loopback"],
  ["::7f00:1", "private", "IPv4-compatible loopback in hex"],
  ["::ffff:0:127.0.0.1", "private", "SIIT IPv4-translated loopback"],
  ["64:ff9b::127.0.0.1", "private", "NAT64 with embedded loopback"],
  ["64:ff9b::7f00:1", "private", "NAT64 with embedded loopback in hex"],
  ["2002:7f00:1::", "private", "6to4 of 127.0.0.1"],
  ["2002:7f00:0001:1234::5", "private", "6to4 of 127.0.0.1, with a subnet and host"],
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", "private", "Teredo, client 127.0.0.1 (inverted)"],
  ["2001:0:7f00:1:8000:63bf:3fff:fdd2", "private", "Teredo, server 127.0.0.1"],
  // CVE-2020-26262: "this host" addresses that Linux delivers to loopback.
  ["0.0.0.0", "never", "IPv4 unspecified"],
  ["::", "never", "IPv6 unspecified"],
  ["0:0:0:0:0:0:0:0", "never", "IPv6 unspecified, uncompressed"],
  ["::ffff:0.0.0.0", "never", "IPv4-mapped unspecified"],
  ["::ffff:0:0", "never", "IPv4-mapped unspecified in hex"],
  ["64:ff9b::0.0.0.0", "never", "NAT64 of 0.0.0.0"],
  ["2002:0:0::1", "never", "6to4 of 0.0.0.0"],
  ["0.1.2.3", "never", '"this network" 0/8'],
  ["::0.0.0.2", "never", "IPv4-compatible 0.0.0.2"],
  // Private and other non-global ranges.
  ["10.0.0.1", "private", "RFC 1918 10/8"],
  ["10.255.255.255", "private", "RFC 1918 10/8, last"],
  ["172.16.0.1", "private", "RFC 1918 172.16/12, first"],
  ["172.31.255.254", "private", "RFC 1918 172.16/12, last"],
  ["192.168.1.20", "private", "RFC 1918 192.168/16"],
  ["::ffff:10.0.0.1", "private", "IPv4-mapped 10/8"],
  ["::ffff:a00:1", "private", "IPv4-mapped 10/8 in hex"],
  ["64:ff9b::10.0.0.1", "private", "NAT64 of 10/8"],
  ["64:ff9b::192.168.0.1", "private", "NAT64 of 192.168/16"],
  ["2002:c0a8:114::1", "private", "6to4 of 192.168.1.20"],
  ["fc00::1", "private", "unique local fc00::/7"],
  ["fdab:cdef::1", "private", "unique local fd00::/8"],
  ["fec0::1", "private", "site-local, deprecated"],
  ["169.254.169.254", "private", "link-local: cloud metadata"],
  ["::ffff:169.254.169.254", "private", "IPv4-mapped cloud metadata"],
  ["fe80::1", "private", "IPv6 link-local"],
  ["fe80::1%eth0", "private", "IPv6 link-local with a zone"],
  ["febf:ffff::1", "private", "IPv6 link-local, last /10"],
  ["100.64.0.1", "private", "carrier-grade NAT 100.64/10"],
  ["100.100.100.100", "private", "carrier-grade NAT (Tailscale's resolver)"],
  ["100.127.255.255", "private", "carrier-grade NAT, last"],
  ["192.0.0.1", "private", "IETF protocol assignments"],
  ["192.0.2.1", "private", "TEST-NET-1"],
  ["198.51.100.7", "private", "TEST-NET-2"],
  ["203.0.113.9", "private", "TEST-NET-3"],
  ["198.18.0.1", "private", "benchmarking 198.18/15 (the NAT lab)"],
  ["198.19.255.254", "private", "benchmarking, last"],
  ["192.88.99.1", "private", "6to4 relay anycast, deprecated"],
  ["2001:db8::1", "private", "IPv6 documentation"],
  ["3fff::1", "private", "IPv6 documentation 3fff::/20"],
  ["2001:2::1", "private", "IPv6 benchmarking"],
  ["100::1", "private", "discard-only 100::/64"],
  ["64:ff9b:1::1", "private", "local-use NAT64"],
  ["::8.8.8.8", "private", "IPv4-compatible is deprecated: never public"],
  // Multicast and broadcast.
  ["224.0.0.1", "never", "IPv4 multicast, first"],
  ["239.255.77.70", "never", "IPv4 multicast (tun's LAN discovery group)"],
  ["::ffff:224.0.0.251", "never", "IPv4-mapped multicast"],
  ["ff02::1", "never", "IPv6 multicast"],
  ["ff05::1:3", "never", "IPv6 multicast, site"],
  ["255.255.255.255", "never", "limited broadcast"],
  ["::ffff:255.255.255.255", "never", "IPv4-mapped broadcast"],
  ["240.0.0.1", "never", "reserved 240/4"],
  ["1::1", "never", "unallocated IPv6"],
  ["::1:0:0:1", "never", "reserved ::/8"],
  // Text that is not one strict IP address is refused.
  ["", "never", "empty"],
  ["localhost", "never", "a host name"],
  ["127.1", "never", "short IPv4"],
  ["0x7f.0.0.1", "never", "hex IPv4"],
  ["0177.0.0.1", "never", "octal IPv4"],
  ["2130706433", "never", "IPv4 as an integer"],
  ["127.0.0.1.", "never", "trailing dot"],
  [" 127.0.0.1", "never", "leading space"],
  ["[::1]", "never", "bracketed IPv6"],
  ["::1:", "never", "dangling colon"],
  ["1:2:3:4:5:6:7:8:9", "never", "nine groups"],
  ["::ffff:127.0.0.256", "never", "octet out of range"],
  ["1.2.3.4/8", "never", "a prefix"],
  ["1.2.3.4:80", "never", "with a port"],
  // Public addresses pass, in every spelling.
  ["8.8.8.8", "public", "public IPv4"],
  ["1.1.1.1", "public", "public IPv4"],
  ["100.63.255.255", "public", "just below 100.64/10"],
  ["100.128.0.0", "public", "just above 100.64/10"],
  ["172.15.255.255", "public", "just below 172.16/12"],
  ["172.32.0.0", "public", "just above 172.16/12"],
  ["198.17.255.255", "public", "just below 198.18/15"],
  ["198.20.0.0", "public", "just above 198.18/15"],
  ["223.255.255.255", "public", "just below multicast"],
  ["::ffff:8.8.8.8", "public", "IPv4-mapped public"],
  ["::ffff:808:808", "public", "IPv4-mapped public in hex"],
  ["64:ff9b::8.8.8.8", "public", "NAT64 of a public address"],
  ["2002:808:808::1", "public", "6to4 of a public address"],
  ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", "public", "Teredo, public server and client"],
  ["2606:4700:4700::1111", "public", "public IPv6"],
  ["2a00:1450:4001:82a::200e", "public", "public IPv6"],
];

Deno.test("every spelling of a loopback, private, special or malformed address gets its class", () => {
  for (const [address, expected, why] of CASES) {
    assert.equal(classifyPeer(address), expected, `${address} (${why})`);
  }
});

Deno.test("isForbiddenPeer refuses private peers unless allowed, and the never class always", () => {
  for (const [address, cls, why] of CASES) {
    assert.equal(isForbiddenPeer(address), cls !== "public", `${address} (${why})`);
    assert.equal(
      isForbiddenPeer(address, { allowPrivatePeers: true }),
      cls === "never",
      `${address} with allowPrivatePeers (${why})`,
    );
  }
});

Deno.test("an IPv4 address has the same class in every IPv6 form that embeds it", () => {
  const rand = prng(5);
  const hex = (a: number, b: number) => ((a << 8) | b).toString(16);
  for (let i = 0; i < 20_000; i++) {
    // Half the draws near the interesting ranges, half anywhere.
    const first = i % 2 === 0
      ? [0, 10, 100, 127, 169, 172, 192, 198, 203, 224, 240, 255][(rand() * 12) | 0]
      : (rand() * 256) | 0;
    const b = [first, (rand() * 256) | 0, (rand() * 256) | 0, (rand() * 256) | 0];
    const v4 = b.join(".");
    const cls = classifyPeer(v4);
    const forms = [
      `::ffff:${v4}`,
      `::ffff:${hex(b[0], b[1])}:${hex(b[2], b[3])}`,
      `0:0:0:0:0:ffff:${v4}`,
      `64:ff9b::${v4}`,
      `64:ff9b::${hex(b[0], b[1])}:${hex(b[2], b[3])}`,
      `2002:${hex(b[0], b[1])}:${hex(b[2], b[3])}::1`,
    ];
    for (const form of forms) assert.equal(classifyPeer(form), cls, `${form} vs ${v4}`);
  }
});

Deno.test("random text never throws, and only what node:net calls an IP can be allowed", () => {
  const rand = prng(26262);
  const alphabet = "0123456789abcdefABCDEF:.%[]x/ ";
  for (let i = 0; i < 50_000; i++) {
    let s = "";
    const n = (rand() * 24) | 0;
    for (let j = 0; j < n; j++) s += alphabet[(rand() * alphabet.length) | 0];
    if (classifyPeer(s) !== "never") assert.ok(isIP(s.split("%")[0]) !== 0, s);
  }
});

Deno.test("sameAddress compares addresses, not spellings", () => {
  const same: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["127.0.0.1", "::ffff:127.0.0.1"],
    ["::ffff:7f00:1", "::ffff:127.0.0.1"],
    ["2001:db8::1", "2001:DB8:0:0:0:0:0:0001"],
  ];
  for (const [a, b] of same) assert.ok(sameAddress(a, b), `${a} = ${b}`);
  const different: [string, string][] = [
    ["127.0.0.1", "127.0.0.2"],
    ["127.0.0.1", "::127.0.0.1"],
    ["::1", "127.0.0.1"],
    ["127.0.0.1", "localhost"],
    ["", ""],
  ];
  for (const [a, b] of different) assert.ok(!sameAddress(a, b), `${a} != ${b}`);
});
