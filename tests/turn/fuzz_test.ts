/**
 * Seeded fuzzing of everything in lib/turn that reads untrusted bytes: the
 * ChannelData decoder, the TCP stream deframer, and the whole request
 * handler. Seeds are fixed so a failure reproduces; change them to explore.
 */
import assert from "node:assert/strict";
import {
  type AttributeCodec,
  ChannelNumber,
  createMessage,
  Data,
  decodeMessage,
  encodeMessage,
  EvenPort,
  Lifetime,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
  setAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  type TransportAddress,
  TurnAttrType,
  XorPeerAddress,
} from "../../lib/stun/mod.ts";
import {
  decodeChannelData,
  encodeChannelData,
  StreamDeframer,
  TurnDecodeError,
  TurnMethod,
} from "../../lib/turn/mod.ts";
import { mutate, prng, randomBytes } from "../_util/prng.ts";
import { allocateRequest, FakeClient, Harness, sign } from "./_fake.ts";

type Random = () => number;
const int = (r: Random, below: number) => Math.floor(r() * below);
const pick = <T>(r: Random, items: readonly T[]): T => items[int(r, items.length)];
const INPUTS = 100_000;

/** A plausible stream: STUN and ChannelData frames back to back, as a TURN client sends. */
function validStream(r: Random): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let n = 1 + int(r, 4); n > 0; n--) {
    if (r() < 0.5) {
      const msg = createMessage(pick(r, [0x001, 0x003, 0x004, 0x009]), StunClass.Request);
      if (r() < 0.5) setAttribute(msg, Data, randomBytes(r, int(r, 40)));
      parts.push(encodeMessage(msg, { fingerprint: r() < 0.5 }));
    } else {
      parts.push(encodeChannelData(0x4000 + int(r, 0x4000), randomBytes(r, int(r, 70)), true));
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Cut `bytes` into random chunks, the way TCP may deliver them. */
function chunks(r: Random, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + int(r, r() < 0.3 ? 4 : 64);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

Deno.test(`the deframer and ChannelData decoder survive ${INPUTS} random and mutated streams with only TurnDecodeError`, () => {
  const r = prng(0x7e57_3a11);
  const started = Date.now();
  let frames = 0, failures = 0;
  for (let i = 0; i < INPUTS; i++) {
    const input = i % 3 === 0 ? randomBytes(r, int(r, 200)) : mutate(r, validStream(r));
    const deframer = new StreamDeframer();
    let taken = 0;
    try {
      for (const chunk of chunks(r, input)) {
        for (const frame of deframer.push(chunk)) {
          frames++;
          taken += frame.bytes.length;
          assert.ok(frame.bytes.length >= 4 && frame.bytes.length % 4 === 0, "frame size");
          if (frame.kind === "channel") decodeChannelData(frame.bytes);
        }
      }
      // Every byte is in a frame or waiting for the rest of one.
      assert.equal(taken + deframer.buffered, input.length);
    } catch (err) {
      if (!(err instanceof TurnDecodeError)) throw err;
      failures++;
    }
    try {
      decodeChannelData(input);
    } catch (err) {
      if (!(err instanceof TurnDecodeError)) throw err;
    }
  }
  assert.ok(frames > INPUTS / 2, `only ${frames} frames: the corpus is too broken to test much`);
  assert.ok(failures > INPUTS / 10, `only ${failures} corrupt streams: mutations too gentle`);
  assert.ok(Date.now() - started < 30_000, "the deframer is too slow");
});

// --- the handler ---------------------------------------------------------------

const PEERS: TransportAddress[] = [
  { family: "IPv4", address: "198.51.100.1", port: 4000 },
  { family: "IPv4", address: "198.51.100.2", port: 4001 },
  { family: "IPv6", address: "2001:db8::1", port: 4002 },
];

/** Attributes a TURN request may carry, each with a generator of valid values. */
// deno-lint-ignore no-explicit-any
const ATTRIBUTES: [AttributeCodec<any>, (r: Random) => unknown][] = [
  [RequestedTransport, (r) => pick(r, [17, 17, 6, int(r, 256)])],
  [Lifetime, (r) => pick(r, [0, 1, 600, 3600, int(r, 0x100000000)])],
  [XorPeerAddress, (r) => pick(r, PEERS)],
  [ChannelNumber, (r) => pick(r, [0x4000, 0x4001, 0x4fff, 0x5000, int(r, 0x10000)])],
  [Data, (r) => randomBytes(r, int(r, 64))],
  [EvenPort, (r) => ({ reserveNext: r() < 0.5 })],
  [ReservationToken, (r) => BigInt(int(r, 3))],
  [RequestedAddressFamily, (r) => pick(r, ["IPv4", "IPv6"])],
];

/** A request with random attributes, some valid, some raw junk, in random order. */
function randomRequest(r: Random): StunMessage {
  const method = pick(r, [
    TurnMethod.Allocate,
    TurnMethod.Refresh,
    TurnMethod.CreatePermission,
    TurnMethod.ChannelBind,
  ]);
  const msg = createMessage(method, StunClass.Request);
  // Mostly start the way a real request would, so the logic past the first check runs.
  if (method === TurnMethod.Allocate && r() < 0.7) setAttribute(msg, RequestedTransport, 17);
  if (method === TurnMethod.ChannelBind && r() < 0.7) {
    setAttribute(msg, ChannelNumber, 0x4000 + int(r, 8));
    setAttribute(msg, XorPeerAddress, pick(r, PEERS));
  }
  for (let n = int(r, 4); n > 0; n--) {
    if (r() < 0.8) {
      const [codec, value] = pick(r, ATTRIBUTES);
      msg.attributes.push({ type: codec.type, value: codec.encode(value(r), msg) });
    } else {
      const type = pick(r, [...Object.values(TurnAttrType), int(r, 0x10000)]);
      msg.attributes.push({ type, value: randomBytes(r, int(r, 24)) });
    }
  }
  return msg;
}

Deno.test(`the TURN handler survives ${INPUTS} random, mutated and well-signed junk messages`, async () => {
  const r = prng(0x5eed_7a2e);
  const h = new Harness({ maxAllocations: 8, maxPermissions: 4 });
  const clients = [
    new FakeClient("udp", 1),
    new FakeClient("udp", 2, "192.0.2.2"),
    new FakeClient("tcp", 3),
  ];
  const creds = h.credentials("fuzz", 100_000_000);
  const nonces = new Map<FakeClient, string>();
  for (const c of clients) nonces.set(c, await h.nonce(c));

  // A corpus of valid messages to mutate: what a real client sends.
  const corpus: Uint8Array[] = [
    encodeMessage(createMessage(StunMethod.Binding, StunClass.Request), { fingerprint: true }),
    encodeMessage(allocateRequest()),
    sign(allocateRequest(), creds, nonces.get(clients[0])!),
    encodeChannelData(0x4000, randomBytes(r, 20)),
    encodeChannelData(0x4001, randomBytes(r, 3), true),
  ];
  for (let i = 0; i < 40; i++) corpus.push(sign(randomRequest(r), creds, nonces.get(clients[0])!));
  const send = createMessage(TurnMethod.Send, StunClass.Indication);
  setAttribute(send, XorPeerAddress, PEERS[0]);
  setAttribute(send, Data, randomBytes(r, 30));
  corpus.push(encodeMessage(send));

  let answered = 0, succeeded = 0;
  for (let i = 0; i < INPUTS; i++) {
    const client = pick(r, clients);
    const kind = i % 4;
    const input = kind === 0
      ? randomBytes(r, int(r, 120))
      : kind === 1
      ? mutate(r, pick(r, corpus))
      : kind === 2
      ? sign(randomRequest(r), creds, nonces.get(client)!) // passes authentication
      : pick(r, corpus);
    const response = await h.handler.handle(input, client);
    if (response) answered++;
    if (response && decodeMessage(response).class === StunClass.SuccessResponse) succeeded++;
    // Meanwhile peers send, time passes, and TCP clients come and go.
    const roll = r();
    if (roll < 0.05 && h.relays.length > 0) {
      pick(r, h.relays).receive(randomBytes(r, int(r, 50)), pick(r, PEERS));
    } else if (roll < 0.06) {
      h.advance(int(r, 400));
      for (const c of clients) nonces.set(c, await h.nonce(c)); // as clients do after a 438
    } else if (roll < 0.062) {
      h.handler.disconnect(clients[2].key);
    }
  }
  assert.deepEqual(h.internal, [], "the handler hit a bug, not bad input");
  assert.ok(answered > INPUTS / 4, `only ${answered} answers: the fuzz barely reached the logic`);
  assert.ok(h.relays.length > 10, "allocations were never made");
  assert.ok(succeeded > INPUTS / 50, `only ${succeeded} success responses`);

  // And after all that, an ordinary client is served (once unclaimed port reservations lapse).
  h.advance(31);
  const fresh = new FakeClient("udp", 9, "192.0.2.9");
  const response = await h.signed(fresh, allocateRequest());
  assert.equal(response.class, StunClass.SuccessResponse);
  h.handler.close();
});
