/**
 * Which peers the TURN server relays to. A TURN server sits inside the
 * relay's network and sends UDP wherever a client asks, so without a policy
 * any client can reach the relay host's loopback services and its private
 * network: the coturn CVE-2020-26262 class, where 0.0.0.0 and [::] (which
 * Linux delivers to the local host) and IPv4-mapped spellings slipped past a
 * loopback check. RFC 8656 §9.2 lets a server restrict the peer addresses
 * it relays to and answer the rest with 403 (Forbidden); which ones is
 * local policy, and this file is tun's.
 *
 * Every address is parsed to its bytes first, so there is one spelling of
 * each: "::ffff:127.0.0.1", "::ffff:7f00:1" and "0:0:0:0:0:ffff:7f00:0001"
 * are the same address. Text that is not a strict IPv4 dotted quad or IPv6
 * address ("127.1", "0x7f.0.0.1", "2130706433", "[::1]") is refused: it is
 * not a peer this server can name, and some resolvers read it as loopback.
 *
 * IPv6 addresses that carry an IPv4 address are judged by that IPv4
 * address: IPv4-mapped ::ffff:0:0/96 and SIIT ::ffff:0:0:0/96, NAT64
 * 64:ff9b::/96 (RFC 6052), 6to4 2002::/16 (RFC 3056) and Teredo 2001::/32
 * (RFC 4380: both the server and the obfuscated client address must pass).
 * The deprecated IPv4-compatible ::/96 (RFC 4291 §2.5.5.1) is at best
 * "private", whatever it embeds.
 *
 * Classes (IANA special-purpose registries, RFC 6890 "globally reachable:
 * false"):
 *
 *   never        refused even with `allowPrivatePeers`; nothing legitimate is
 *                there and some of it means "this host" or "everyone":
 *                unspecified (0.0.0.0, ::), "this network" 0/8, multicast
 *                224/4 and ff00::/8, broadcast 255.255.255.255 and the rest
 *                of 240/4, IPv6 outside 2000::/3 that no rule below names,
 *                and text that does not parse.
 *   private      refused unless `allowPrivatePeers` (single-LAN setups and
 *                labs where TURN must reach peers on such addresses):
 *                loopback 127/8 and ::1, RFC 1918 10/8, 172.16/12,
 *                192.168/16, ULA fc00::/7, deprecated site-local fec0::/10,
 *                link-local 169.254/16 and fe80::/10, carrier-grade NAT
 *                100.64/10 (RFC 6598: the ISP's or a VPN's inside, e.g.
 *                Tailscale's, never a peer on the internet), IETF protocol
 *                assignments 192.0.0/24, the old 6to4 anycast 192.88.99/24,
 *                benchmarking 198.18/15 and 2001:2::/48 (RFC 2544; the NAT
 *                lab's "internet" lives here, and proxies use it for fake
 *                IPs), documentation 192.0.2/24, 198.51.100/24, 203.0.113/24,
 *                2001:db8::/32 and 3fff::/20, discard-only 100::/64, the
 *                rest of 2001::/23, SRv6 5f00::/16 and local-use NAT64
 *                64:ff9b:1::/48.
 *   public       everything else.
 *
 * The TURN handler adds one exception (handler.ts): its own relayed
 * transport addresses are always reachable, so two peers that both relay
 * through this server meet even when its relay address is private (the NAT
 * lab's 198.18/15, a cloud VM's 10/8) or loopback; the other ports on that
 * address stay closed.
 */
import { parseIPv4, parseIPv6 } from "../stun/ip.ts";

/** What kind of address a peer is; see the file comment. */
export type PeerClass = "public" | "private" | "never";

/** Options for {@link isForbiddenPeer}. */
export interface PeerPolicyOptions {
  /** Allow the "private" class too (loopback, RFC 1918, link-local, ...). Default false. */
  allowPrivatePeers?: boolean;
}

/**
 * True when the TURN server must not relay to `address` (IP text, as
 * XOR-PEER-ADDRESS decodes it or a socket reports it).
 */
export function isForbiddenPeer(address: string, options: PeerPolicyOptions = {}): boolean {
  const cls = classifyPeer(address);
  return cls === "never" || (cls === "private" && !options.allowPrivatePeers);
}

/** The class of `address`; "never" for text that is not an IP address. */
export function classifyPeer(address: string): PeerClass {
  if (typeof address !== "string" || address.length > 64) return "never";
  const v4 = parseIPv4(address);
  if (v4) return classifyIPv4(v4);
  // A zone ("fe80::1%eth0") only makes sense on link-local addresses, which
  // are refused anyway; parseIPv6 drops it.
  const v6 = parseIPv6(address);
  return v6 ? classifyIPv6(v6) : "never";
}

/** Whether two IP texts name the same address (any spelling); false if either does not parse. */
export function sameAddress(a: string, b: string): boolean {
  const x = parseIPv4(a) ?? parseIPv6(a);
  const y = parseIPv4(b) ?? parseIPv6(b);
  if (!x || !y) return false;
  // An IPv4 address and its IPv4-mapped IPv6 spelling are one address.
  const bx = x.length === 4 ? mapped(x) : x;
  const by = y.length === 4 ? mapped(y) : y;
  return bx.every((byte, i) => byte === by[i]);
}

/** ::ffff:a.b.c.d for four IPv4 bytes. */
function mapped(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

/** [first byte, second byte or -1, prefix length, class] for IPv4, most specific first. */
type V4Rule = readonly [number, number, number, number, number, PeerClass];

/** IPv4 ranges as a.b.c.d/len; the first that matches wins. */
const IPV4_RULES: readonly V4Rule[] = [
  [255, 255, 255, 255, 32, "never"], // broadcast (RFC 919)
  [0, 0, 0, 0, 8, "never"], // "this network"; 0.0.0.0 reaches the local host (RFC 1122 §3.2.1.3)
  [224, 0, 0, 0, 4, "never"], // multicast (RFC 5771)
  [240, 0, 0, 0, 4, "never"], // reserved (RFC 1112)
  [127, 0, 0, 0, 8, "private"], // loopback (RFC 1122)
  [10, 0, 0, 0, 8, "private"], // RFC 1918
  [172, 16, 0, 0, 12, "private"], // RFC 1918
  [192, 168, 0, 0, 16, "private"], // RFC 1918
  [169, 254, 0, 0, 16, "private"], // link-local (RFC 3927)
  [100, 64, 0, 0, 10, "private"], // shared address space, carrier-grade NAT (RFC 6598)
  [192, 0, 0, 0, 24, "private"], // IETF protocol assignments (RFC 6890)
  [192, 0, 2, 0, 24, "private"], // TEST-NET-1 (RFC 5737)
  [192, 88, 99, 0, 24, "private"], // 6to4 relay anycast, deprecated (RFC 7526)
  [198, 18, 0, 0, 15, "private"], // benchmarking (RFC 2544)
  [198, 51, 100, 0, 24, "private"], // TEST-NET-2 (RFC 5737)
  [203, 0, 113, 0, 24, "private"], // TEST-NET-3 (RFC 5737)
];

function classifyIPv4(bytes: Uint8Array): PeerClass {
  const value = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  for (const [a, b, c, d, len, cls] of IPV4_RULES) {
    const base = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((value & mask) >>> 0) === base) return cls;
  }
  return "public";
}

/** The stricter of two classes. */
function worst(a: PeerClass, b: PeerClass): PeerClass {
  if (a === "never" || b === "never") return "never";
  if (a === "private" || b === "private") return "private";
  return "public";
}

function classifyIPv6(b: Uint8Array): PeerClass {
  const group = (i: number) => (b[i * 2] << 8) | b[i * 2 + 1];
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const v4At = (offset: number) => classifyIPv4(b.subarray(offset, offset + 4));

  if (zeros(0, 10)) {
    if (group(5) === 0xffff) return v4At(12); // IPv4-mapped ::ffff:a.b.c.d
    if (group(5) === 0) {
      if (zeros(10, 15) && b[15] === 0) return "never"; // :: unspecified
      if (zeros(10, 15) && b[15] === 1) return "private"; // ::1 loopback
      // IPv4-compatible ::a.b.c.d: deprecated (RFC 4291 §2.5.5.1), so never public.
      return worst("private", v4At(12));
    }
    return "never"; // the rest of ::/80, reserved
  }
  if (zeros(0, 8) && group(4) === 0xffff && group(5) === 0) return v4At(12); // SIIT ::ffff:0:a.b.c.d
  if (b[0] === 0xff) return "never"; // multicast ff00::/8
  if ((b[0] & 0xfe) === 0xfc) return "private"; // unique local fc00::/7 (RFC 4193)
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return "private"; // link-local fe80::/10
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return "private"; // site-local fec0::/10 (RFC 3879)
  if (group(0) === 0x64 && group(1) === 0xff9b) {
    if (zeros(4, 12)) return v4At(12); // NAT64 64:ff9b::/96 (RFC 6052)
    if (group(2) === 1) return "private"; // local-use NAT64 64:ff9b:1::/48 (RFC 8215)
    return "never";
  }
  if (group(0) === 0x100 && zeros(2, 8)) return "private"; // discard-only 100::/64 (RFC 6666)
  if (group(0) === 0x2002) return v4At(2); // 6to4 2002:a.b.c.d::/48 (RFC 3056)
  if (group(0) === 0x2001) {
    if (group(1) === 0) {
      // Teredo (RFC 4380 §4): server IPv4 in bits 32-63, client IPv4 in the last 32, inverted.
      const client = b.slice(12, 16).map((x) => x ^ 0xff);
      return worst(v4At(4), classifyIPv4(client));
    }
    if (group(1) === 0xdb8) return "private"; // documentation 2001:db8::/32 (RFC 3849)
    if (group(1) < 0x200) return "private"; // the rest of 2001::/23 (benchmarking, ORCHID, ...)
  }
  if (group(0) === 0x3fff && group(1) < 0x1000) return "private"; // documentation 3fff::/20 (RFC 9637)
  if (group(0) === 0x5f00) return "private"; // SRv6 SIDs 5f00::/16 (RFC 9602)
  if ((b[0] & 0xe0) !== 0x20) return "never"; // outside global unicast 2000::/3: unallocated
  return "public";
}
