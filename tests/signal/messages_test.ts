import { Encoder } from "cbor-x/encode";
import { assertEquals, assertThrows } from "../_util/assert.ts";
import { mutate, prng, randomBytes } from "../_util/prng.ts";
import {
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  type Message,
  SignalDecodeError,
} from "../../lib/signal/mod.ts";

const samples: Message[] = [
  { t: "host" },
  { t: "hosted", name: "K7M2", ttl_s: 86400, ice: [], web: null },
  { t: "hosted", name: "K7M2", ttl_s: 86400, ice: [], web: "https://relay.example:7443" },
  {
    t: "hosted",
    name: "K7M2",
    ttl_s: 1,
    web: null,
    ice: [
      { urls: ["stun:198.18.0.1:3478"] },
      { urls: ["turn:198.18.0.1:3478?transport=udp"], username: "1700000000:g1", credential: "pw" },
    ],
  },
  { t: "join", name: "K7M2" },
  { t: "signal", peer: 0, epoch: 0, data: { kind: "browser", webtransport: true } },
  {
    t: "signal",
    peer: 3,
    epoch: 0,
    data: {
      kind: "webtransport",
      urls: ["https://198.18.0.5:4433/"],
      cert_hash: new Uint8Array(32).fill(7),
      tag: new Uint8Array(32).fill(9),
    },
  },
  { t: "joined", peer: 1, ice: [{ urls: ["stun:[::1]:3478"] }] },
  { t: "guest", peer: 7, addr: { address: "203.0.113.9", port: 40000 } },
  {
    t: "guest",
    peer: 7,
    addr: { address: "203.0.113.9", port: 40000 },
    quic_token: new Uint8Array(16).fill(3),
  },
  { t: "joined", peer: 1, ice: [], quic_token: new Uint8Array(16).fill(4) },
  {
    t: "welcome",
    addr: { address: "198.18.0.10", port: 40000 },
    stun_port: 3478,
    stun_alt_port: 3479,
    quic: { port: 7700, cert: new Uint8Array(400).fill(5) },
  },
  {
    t: "signal",
    peer: 0,
    epoch: 0,
    data: {
      kind: "quic",
      cert: new Uint8Array(420).fill(6),
      addrs: ["198.18.0.10:41000", "10.1.0.2:41000", "[2001:db8::1]:41000"],
    },
  },
  { t: "signal", peer: 0, epoch: 0, data: { kind: "offer", sdp: "v=0\r\n" } },
  { t: "signal", peer: 3, epoch: 0, data: { kind: "answer", sdp: "v=0\r\n" } },
  {
    t: "signal",
    peer: 3,
    epoch: 2,
    data: {
      kind: "candidate",
      candidate: "candidate:1 1 udp 1 10.0.0.1 5000 typ host",
      mid: "0",
      mline: 0,
    },
  },
  {
    t: "signal",
    peer: 3,
    epoch: 0,
    data: { kind: "candidate", candidate: "c", mid: null, mline: null },
  },
  { t: "signal", peer: 3, epoch: 0, data: { kind: "end-of-candidates" } },
  { t: "signal", peer: 3, epoch: 1, data: { kind: "relay-mode", reason: "p2p timeout" } },
  { t: "bye", peer: 2, reason: "guest left" },
  { t: "welcome", addr: { address: "::1", port: 1 }, stun_port: 3478, stun_alt_port: 3479 },
  {
    t: "signal",
    peer: 1,
    epoch: 0,
    data: {
      kind: "nat",
      nat: {
        udp: true,
        mapping: "endpoint-independent",
        filtering: "address-and-port-dependent",
        mapping_stable: true,
        public_ip: "203.0.113.7",
      },
    },
  },
  {
    t: "signal",
    peer: 1,
    epoch: 0,
    data: {
      kind: "nat",
      nat: { udp: false, mapping: null, filtering: null, mapping_stable: null, public_ip: null },
    },
  },
  { t: "error", message: "no such join code" },
  {
    t: "signal",
    peer: 0,
    epoch: 0,
    data: { kind: "pake", sid: new Uint8Array(16).fill(7), y: new Uint8Array(32).fill(1) },
  },
  { t: "signal", peer: 2, epoch: 0, data: { kind: "pake", sid: null, y: new Uint8Array(32) } },
  { t: "signal", peer: 2, epoch: 1, data: { kind: "confirm", tag: new Uint8Array(64).fill(9) } },
  { t: "signal", peer: 2, epoch: 0, data: { kind: "reject", reason: "wrong join code" } },
  { t: "ping" },
  { t: "pong" },
];

Deno.test("every message type survives encode then decode", () => {
  for (const msg of samples) assertEquals(decodeMessage(encodeMessage(msg)), msg, msg.t);
});

const enc = new Encoder({ useRecords: false, mapsAsObjects: true });
const raw = (x: unknown) => enc.encode(x) as Uint8Array;

Deno.test("malformed messages are refused with an error naming the field", () => {
  const cases: [string, Uint8Array, string][] = [
    ["not CBOR", new Uint8Array([0xff, 0xff, 0x00]), "message"],
    ["an array", raw([1, 2]), "message"],
    ["no version", raw({ t: "host" }), "v"],
    ["future version", raw({ v: 2, t: "host" }), "v"],
    ["unknown type", raw({ v: 1, t: "teleport" }), "t"],
    ["type not a string", raw({ v: 1, t: 5 }), "t"],
    ["join without name", raw({ v: 1, t: "join" }), "name"],
    ["negative peer", raw({ v: 1, t: "joined", peer: -1, ice: [] }), "peer"],
    ["fractional peer", raw({ v: 1, t: "joined", peer: 1.5, ice: [] }), "peer"],
    ["joined without ice", raw({ v: 1, t: "joined", peer: 1 }), "ice"],
    ["ice url not a string", raw({ v: 1, t: "joined", peer: 1, ice: [{ urls: [5] }] }), "ice.urls"],
    ["ice with no urls", raw({ v: 1, t: "joined", peer: 1, ice: [{ urls: [] }] }), "ice.urls"],
    [
      "too many ice servers",
      raw({ v: 1, t: "joined", peer: 1, ice: Array(9).fill({ urls: ["stun:x:1"] }) }),
      "ice",
    ],
    [
      "port out of range",
      raw({ v: 1, t: "guest", peer: 1, addr: { address: "x", port: 70000 } }),
      "port",
    ],
    ["signal without data", raw({ v: 1, t: "signal", peer: 1, epoch: 0 }), "data"],
    [
      "pake with a short element",
      raw({ v: 1, t: "signal", peer: 1, epoch: 0, data: { kind: "pake", y: new Uint8Array(31) } }),
      "y",
    ],
    [
      "confirm with a string tag",
      raw({ v: 1, t: "signal", peer: 1, epoch: 0, data: { kind: "confirm", tag: "ab" } }),
      "tag",
    ],
    [
      "nat with a non-boolean udp",
      raw({ v: 1, t: "signal", peer: 1, epoch: 0, data: { kind: "nat", nat: { udp: "yes" } } }),
      "udp",
    ],
    [
      "nat with an unknown mapping",
      raw({
        v: 1,
        t: "signal",
        peer: 1,
        epoch: 0,
        data: { kind: "nat", nat: { udp: true, mapping: "cone" } },
      }),
      "nat.mapping",
    ],
    [
      "unknown signal kind",
      raw({ v: 1, t: "signal", peer: 1, epoch: 0, data: { kind: "x" } }),
      "data.kind",
    ],
    [
      "quic without addresses",
      raw({
        v: 1,
        t: "signal",
        peer: 1,
        epoch: 0,
        data: { kind: "quic", cert: new Uint8Array(9), addrs: [] },
      }),
      "addrs",
    ],
    [
      "quic with an oversized certificate",
      raw({
        v: 1,
        t: "signal",
        peer: 1,
        epoch: 0,
        data: { kind: "quic", cert: new Uint8Array(5000), addrs: ["1.2.3.4:5"] },
      }),
      "cert",
    ],
    [
      "short quic token",
      raw({ v: 1, t: "joined", peer: 1, ice: [], quic_token: new Uint8Array(8) }),
      "quic_token",
    ],
    [
      "welcome with a bad quic port",
      raw({
        v: 1,
        t: "welcome",
        addr: { address: "x", port: 1 },
        stun_port: 1,
        stun_alt_port: 1,
        quic: { port: 0, cert: new Uint8Array(9) },
      }),
      "port",
    ],
    ["oversized", new Uint8Array(MAX_MESSAGE_BYTES + 1), "message"],
    ["proto key only", raw({ v: 1, t: "join", ["__proto__"]: { name: "K7M2" } }), "name"],
  ];
  for (const [what, bytes, field] of cases) {
    const err = assertThrows(() => decodeMessage(bytes), SignalDecodeError);
    assertEquals(err.field, field, what);
  }
});

Deno.test("random and mutated input only ever yields SignalDecodeError (100,000 cases, seeded)", () => {
  const rand = prng(0x5eed);
  const valid = samples.map(encodeMessage);
  for (let i = 0; i < 100_000; i++) {
    const input = i % 2 === 0
      ? mutate(rand, valid[i % valid.length])
      : randomBytes(rand, (rand() * 64) | 0);
    try {
      const msg = decodeMessage(input);
      // Whatever decodes must encode and decode to the same thing.
      assertEquals(decodeMessage(encodeMessage(msg)), msg);
    } catch (err) {
      if (!(err instanceof SignalDecodeError)) {
        throw new Error(`case ${i}: ${(err as Error).constructor.name}: ${err}`);
      }
    }
  }
});
