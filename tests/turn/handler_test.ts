/**
 * The TURN state machine (lib/turn/handler.ts) with fake sockets and a
 * hand-moved clock: every RFC 8656 rule the server enforces, one by one.
 */
import assert from "node:assert/strict";
import {
  ChannelNumber,
  createMessage,
  Data,
  type DecodedStunMessage,
  decodeMessage,
  DontFragment,
  encodeMessage,
  ErrorCode,
  EvenPort,
  getAttribute,
  hasFingerprint,
  Lifetime,
  longTermKey,
  Nonce,
  Realm,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
  setAttribute,
  StunClass,
  type StunMessage,
  StunMethod,
  UnknownAttributes,
  verifyMessageIntegrity,
  XorMappedAddress,
  XorPeerAddress,
  XorRelayedAddress,
} from "../../lib/stun/mod.ts";
import {
  decodeChannelData,
  encodeChannelData,
  mintTurnCredentials,
  TurnMethod,
} from "../../lib/turn/mod.ts";
import {
  allocateRequest,
  FakeClient,
  Harness,
  peer,
  REALM,
  request,
  SECRET,
  sign,
} from "./_fake.ts";

const code = (m: DecodedStunMessage | undefined) =>
  m?.class === StunClass.ErrorResponse ? getAttribute(m, ErrorCode)?.code : "success";
const bytes = (s: string) => new TextEncoder().encode(s);

/** A harness with one allocated UDP client. */
async function allocated(options: ConstructorParameters<typeof Harness>[0] = {}) {
  const h = new Harness(options);
  const client = new FakeClient("udp", 40_000);
  const creds = h.credentials();
  const response = await h.signed(client, allocateRequest(), creds);
  assert.equal(code(response), "success");
  const relay = h.relays.at(-1)!;
  return { h, client, creds, relay, response };
}

function sendIndication(
  to: ReturnType<typeof peer>,
  data: Uint8Array,
  fill = (_: StunMessage) => {},
) {
  const msg = createMessage(TurnMethod.Send, StunClass.Indication);
  setAttribute(msg, XorPeerAddress, to);
  setAttribute(msg, Data, data);
  fill(msg);
  return encodeMessage(msg);
}

Deno.test("an Allocate without credentials is challenged with 401, REALM and NONCE, unsigned", async () => {
  const h = new Harness();
  const response = await h.send(new FakeClient("udp", 1), encodeMessage(allocateRequest()));
  assert.equal(code(response), 401);
  assert.equal(getAttribute(response!, Realm), REALM);
  assert.match(getAttribute(response!, Nonce)!, /^[0-9a-f]{24}$/);
  assert.equal(response!.attributes.some((a) => a.type === 0x0008), false);
  assert.equal(h.relays.length, 0, "no relay socket before authentication");
});

Deno.test("an authenticated Allocate gets the relayed address on relayAddress, LIFETIME and the client's address, signed", async () => {
  const { h, client, creds, relay, response } = await allocated();
  assert.deepEqual(getAttribute(response, XorRelayedAddress), {
    family: "IPv4",
    address: "203.0.113.9",
    port: relay.port,
  });
  assert.equal(getAttribute(response, Lifetime), 600);
  assert.deepEqual(getAttribute(response, XorMappedAddress), client.address);
  assert.ok(verifyMessageIntegrity(response, longTermKey(creds.username, REALM, creds.password)));
  assert.equal(h.handler.allocationCount, 1);
});

Deno.test("authentication failures get the RFC 8489 §9.2.4 codes, with REALM and a fresh NONCE", async () => {
  const h = new Harness();
  const client = new FakeClient("udp", 2);
  const good = h.credentials();
  const elsewhere = new FakeClient("udp", 3, "192.0.2.200");
  const cases: {
    name: string;
    code: number;
    creds?: { username: string; password: string };
    nonce?: () => Promise<string>;
    realm?: string;
  }[] = [
    { name: "wrong password", code: 401, creds: { username: good.username, password: "x" } },
    {
      name: "expired username",
      code: 401,
      creds: mintTurnCredentials(SECRET, "alice", 60, h.now - 61_000),
    },
    { name: "not a REST username", code: 401, creds: { username: "alice", password: "pw" } },
    { name: "another realm", code: 401, realm: "elsewhere" },
    { name: "forged nonce", code: 438, nonce: () => Promise.resolve("0".repeat(24)) },
    { name: "nonce issued to another IP", code: 438, nonce: () => h.nonce(elsewhere) },
  ];
  for (const c of cases) {
    const nonce = c.nonce ? await c.nonce() : undefined;
    const response = await h.signed(client, allocateRequest(), c.creds ?? good, {
      nonce,
      realm: c.realm,
    });
    assert.equal(code(response), c.code, c.name);
    assert.ok(getAttribute(response, Nonce), `${c.name}: carries a fresh NONCE`);
    assert.equal(getAttribute(response, Realm), REALM, `${c.name}: carries REALM`);
  }
  assert.equal(h.relays.length, 0);
});

Deno.test("MESSAGE-INTEGRITY without USERNAME, REALM or NONCE is a 400 Bad Request", async () => {
  const h = new Harness();
  const msg = allocateRequest();
  setAttribute(msg, Realm, REALM);
  const response = await h.send(
    new FakeClient("udp", 4),
    encodeMessage(msg, { integrityKey: new Uint8Array(16) }),
  );
  assert.equal(code(response), 400);
});

Deno.test("a nonce goes stale after 10 minutes: 438 with a new nonce that then works", async () => {
  const h = new Harness();
  const client = new FakeClient("udp", 5);
  const creds = h.credentials();
  const nonce = await h.nonce(client);
  h.advance(601);
  const stale = await h.signed(client, allocateRequest(), creds, { nonce });
  assert.equal(code(stale), 438);
  const fresh = getAttribute(stale, Nonce)!;
  assert.notEqual(fresh, nonce);
  assert.equal(code(await h.signed(client, allocateRequest(), creds, { nonce: fresh })), "success");
});

Deno.test("Allocate requests the server cannot honour get RFC 8656 §7.2's codes", async () => {
  const cases: {
    name: string;
    code: number;
    fill: (m: StunMessage) => void;
    unknown?: number[];
  }[] = [
    {
      name: "no REQUESTED-TRANSPORT",
      code: 400,
      fill: (m) => m.attributes = m.attributes.filter((a) => a.type !== RequestedTransport.type),
    },
    { name: "TCP relaying", code: 442, fill: (m) => setAttribute(m, RequestedTransport, 6) },
    {
      name: "DONT-FRAGMENT (no DF bit from node:dgram)",
      code: 420,
      fill: (m) => setAttribute(m, DontFragment, true),
      unknown: [0x001a],
    },
    {
      name: "an unknown comprehension-required attribute",
      code: 420,
      fill: (m) => m.attributes.push({ type: 0x0030, value: new Uint8Array(4) }),
      unknown: [0x0030],
    },
    {
      name: "RESERVATION-TOKEN with EVEN-PORT",
      code: 400,
      fill: (m) => {
        setAttribute(m, ReservationToken, 7n);
        setAttribute(m, EvenPort, { reserveNext: false });
      },
    },
    {
      name: "an unknown RESERVATION-TOKEN",
      code: 508,
      fill: (m) => setAttribute(m, ReservationToken, 7n),
    },
    {
      name: "an IPv6 relay",
      code: 440,
      fill: (m) => setAttribute(m, RequestedAddressFamily, "IPv6"),
    },
    {
      name: "an unknown address family",
      code: 440,
      fill: (m) => m.attributes.push({ type: 0x0017, value: new Uint8Array([3, 0, 0, 0]) }),
    },
    {
      name: "a LIFETIME of 3 bytes",
      code: 400,
      fill: (m) => m.attributes.push({ type: 0x000d, value: new Uint8Array(3) }),
    },
  ];
  for (const c of cases) {
    const h = new Harness();
    const response = await h.signed(new FakeClient("udp", 6), allocateRequest(c.fill));
    assert.equal(code(response), c.code, c.name);
    if (c.unknown) assert.deepEqual(getAttribute(response, UnknownAttributes), c.unknown, c.name);
    assert.equal(h.handler.allocationCount, 0, c.name);
    assert.equal(h.relays.length, 0, `${c.name}: no socket was opened`);
  }
});

Deno.test("the granted lifetime is the request clamped to 600..3600 s", async () => {
  for (const [asked, granted] of [[undefined, 600], [30, 600], [1800, 1800], [99_999, 3600]]) {
    const h = new Harness();
    const msg = allocateRequest((m) => asked !== undefined && setAttribute(m, Lifetime, asked));
    const response = await h.signed(new FakeClient("udp", 7), msg);
    assert.equal(getAttribute(response, Lifetime), granted, `asked ${asked}`);
  }
});

Deno.test("a retransmitted Allocate gets the same answer; a new Allocate on the 5-tuple gets 437", async () => {
  const h = new Harness();
  const client = new FakeClient("udp", 8);
  const creds = h.credentials();
  const wire = sign(allocateRequest(), creds, await h.nonce(client));
  const first = await h.handler.handle(wire, client);
  const again = await h.handler.handle(wire, client);
  assert.deepEqual(again, first);
  assert.equal(h.relays.length, 1, "one relay socket for both");
  assert.equal(code(await h.signed(client, allocateRequest(), creds)), 437);
});

Deno.test("requests need the client's own allocation: 437 without one, 441 under another username", async () => {
  const { h, client } = await allocated();
  const stranger = new FakeClient("udp", 9);
  const permit = () =>
    request(TurnMethod.CreatePermission, (m) => setAttribute(m, XorPeerAddress, peer()));
  assert.equal(code(await h.signed(stranger, permit())), 437);
  assert.equal(code(await h.signed(client, permit(), h.credentials("mallory"))), 441);
  assert.equal(code(await h.signed(client, permit())), "success");
});

Deno.test("Refresh extends an allocation, and Refresh with LIFETIME 0 frees it and its port", async () => {
  const { h, client, relay, creds } = await allocated();
  h.advance(500);
  // REST usernames embed their expiry, so a client keeps the credentials it allocated with.
  const refreshed = await h.signed(
    client,
    request(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 1200)),
    creds,
  );
  assert.equal(getAttribute(refreshed, Lifetime), 1200);
  h.advance(1000); // 1500 s after the Allocate: alive only thanks to the Refresh
  assert.equal(h.handler.allocationCount, 1);
  const freed = await h.signed(
    client,
    request(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 0)),
    creds,
  );
  assert.equal(code(freed), "success");
  assert.equal(getAttribute(freed, Lifetime), 0);
  assert.equal(h.handler.allocationCount, 0);
  assert.ok(relay.closed);
});

Deno.test("a Refresh naming another address family gets 443", async () => {
  const { h, client } = await allocated();
  const msg = request(TurnMethod.Refresh, (m) => setAttribute(m, RequestedAddressFamily, "IPv6"));
  assert.equal(code(await h.signed(client, msg)), 443);
});

Deno.test("an allocation expires at the end of its lifetime and its socket closes", async () => {
  const { h, relay } = await allocated();
  h.advance(599);
  assert.equal(h.handler.allocationCount, 1);
  h.advance(1);
  assert.equal(h.handler.allocationCount, 0);
  assert.ok(relay.closed);
});

Deno.test("permissions last 300 s; Send indications use but never refresh them", async () => {
  const { h, client, relay } = await allocated();
  const p = peer();
  await h.send(client, sendIndication(p, bytes("no permission yet")));
  assert.equal(relay.sent.length, 0);
  const ok = await h.signed(
    client,
    request(TurnMethod.CreatePermission, (m) => setAttribute(m, XorPeerAddress, p)),
  );
  assert.equal(code(ok), "success");
  h.advance(299);
  await h.send(client, sendIndication(p, bytes("in time")));
  // Any port at the permitted IP is reachable: permissions are per IP (RFC 8656 §9).
  await h.send(client, sendIndication(peer(6000), bytes("other port")));
  assert.deepEqual(relay.sent.map((s) => new TextDecoder().decode(s.data)), [
    "in time",
    "other port",
  ]);
  relay.receive(bytes("from peer"), p);
  assert.equal(client.received.length, 1);
  h.advance(1);
  await h.send(client, sendIndication(p, bytes("too late")));
  relay.receive(bytes("too late"), p);
  assert.equal(relay.sent.length, 2);
  assert.equal(client.received.length, 1);
});

Deno.test("a Data indication carries the peer's address and data to the client", async () => {
  const { h, client, relay } = await allocated();
  const p = peer();
  await h.signed(
    client,
    request(TurnMethod.CreatePermission, (m) => setAttribute(m, XorPeerAddress, p)),
  );
  relay.receive(bytes("hello"), p);
  relay.receive(bytes("not permitted"), peer(5000, "198.51.100.8"));
  assert.equal(client.received.length, 1);
  const data = decodeMessage(client.received[0]);
  assert.equal(data.method, TurnMethod.Data);
  assert.equal(data.class, StunClass.Indication);
  assert.deepEqual(getAttribute(data, XorPeerAddress), p);
  assert.equal(new TextDecoder().decode(getAttribute(data, Data)), "hello");
});

Deno.test("CreatePermission installs every listed peer or none: 403 for a refused one, 443 for IPv6", async () => {
  const refused = "198.51.100.66";
  const { h, client, relay } = await allocated({ allowPeer: (p) => p.address !== refused });
  const permit = (...peers: ReturnType<typeof peer>[]) =>
    request(TurnMethod.CreatePermission, (m) => {
      for (const p of peers) {
        m.attributes.push({ type: XorPeerAddress.type, value: XorPeerAddress.encode(p, m) });
      }
    });
  assert.equal(code(await h.signed(client, permit(peer(1), peer(2, refused)))), 403);
  const v6 = { family: "IPv6" as const, address: "2001:db8::1", port: 1 };
  assert.equal(code(await h.signed(client, permit(peer(1), v6))), 443);
  assert.equal(code(await h.signed(client, permit())), 400);
  await h.send(client, sendIndication(peer(1), bytes("x")));
  assert.equal(relay.sent.length, 0, "a refused request installed a permission");
  assert.equal(code(await h.signed(client, permit(peer(1), peer(2, "198.51.100.2")))), "success");
});

Deno.test("CreatePermission beyond maxPermissions distinct IPs gets 508", async () => {
  const { h, client } = await allocated({ maxPermissions: 2 });
  const permit = (ip: string) =>
    request(TurnMethod.CreatePermission, (m) => setAttribute(m, XorPeerAddress, peer(1, ip)));
  assert.equal(code(await h.signed(client, permit("198.51.100.1"))), "success");
  assert.equal(code(await h.signed(client, permit("198.51.100.2"))), "success");
  assert.equal(
    code(await h.signed(client, permit("198.51.100.1"))),
    "success",
    "a refresh is free",
  );
  assert.equal(code(await h.signed(client, permit("198.51.100.3"))), 508);
});

Deno.test("ChannelBind follows RFC 8656 §11.2's numbering and rebinding rules", async () => {
  const a = peer(1000), b = peer(2000);
  type Step = [
    channel: number,
    to: typeof a,
    expect: number | "success",
    why: string,
    advance?: number,
  ];
  const strict: Step[] = [
    [0x3fff, a, 400, "below 0x4000"],
    [0x5000, a, 400, "0x5000 is reserved by RFC 8656"],
    [0x4000, a, "success", "a fresh binding"],
    [0x4000, a, "success", "the same binding again refreshes it"],
    [0x4000, b, 400, "the channel is bound to another peer"],
    [0x4001, a, 400, "the peer is bound to another channel"],
    [0x4fff, b, "success", "the top of the range"],
    [0x4000, b, 400, "expired but cooling down: still a's", 601],
    [0x4000, a, "success", "rebinding the same pair after expiry is fine"],
    [0x4002, a, 400, "the peer still owns 0x4000"],
  ];
  const { h, client, creds } = await allocated();
  const refresh = request(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 3600));
  assert.equal(code(await h.signed(client, refresh, creds)), "success");
  for (const [channel, to, expect, why, advance] of strict) {
    if (advance) h.advance(advance);
    const msg = request(TurnMethod.ChannelBind, (m) => {
      setAttribute(m, ChannelNumber, channel);
      setAttribute(m, XorPeerAddress, to);
    });
    assert.equal(code(await h.signed(client, msg, creds)), expect, why);
  }
  // After 600 s of life and 300 s of cool-down, the number is free for anyone.
  h.advance(901);
  const rebind = request(TurnMethod.ChannelBind, (m) => {
    setAttribute(m, ChannelNumber, 0x4fff);
    setAttribute(m, XorPeerAddress, a);
  });
  // 0x4fff was b's and a owned 0x4000: both bindings have cooled down by now.
  assert.equal(code(await h.signed(client, rebind, creds)), "success");
});

Deno.test("legacyChannelNumbers accepts RFC 5766's 0x5000-0x7FFF but nothing above", async () => {
  const { h, client } = await allocated({ legacyChannelNumbers: true });
  for (
    const [channel, expect] of [[0x5000, "success"], [0x7fff, "success"], [0x8000, 400]] as const
  ) {
    const msg = request(TurnMethod.ChannelBind, (m) => {
      setAttribute(m, ChannelNumber, channel);
      setAttribute(m, XorPeerAddress, peer(channel));
    });
    assert.equal(code(await h.signed(client, msg)), expect, `0x${channel.toString(16)}`);
  }
});

Deno.test("ChannelBind without CHANNEL-NUMBER or XOR-PEER-ADDRESS, or malformed, gets 400", async () => {
  const { h, client } = await allocated();
  const cases: [string, (m: StunMessage) => void][] = [
    ["no channel", (m) => setAttribute(m, XorPeerAddress, peer())],
    ["no peer", (m) => setAttribute(m, ChannelNumber, 0x4000)],
    ["short channel", (m) => {
      m.attributes.push({ type: 0x000c, value: new Uint8Array([0x40, 0]) });
      setAttribute(m, XorPeerAddress, peer());
    }],
    ["bad peer family", (m) => {
      setAttribute(m, ChannelNumber, 0x4000);
      m.attributes.push({ type: 0x0012, value: new Uint8Array([0, 9, 0, 0, 1, 2, 3, 4]) });
    }],
  ];
  for (const [name, fill] of cases) {
    assert.equal(code(await h.signed(client, request(TurnMethod.ChannelBind, fill))), 400, name);
  }
});

for (const transport of ["udp", "tcp"] as const) {
  Deno.test(`ChannelData flows both ways on a bound channel, ${transport === "tcp" ? "padded" : "unpadded"} for a ${transport.toUpperCase()} client`, async () => {
    const h = new Harness();
    const client = new FakeClient(transport, 41_000);
    await h.signed(client, allocateRequest());
    const relay = h.relays[0];
    const p = peer();
    await h.signed(
      client,
      request(TurnMethod.ChannelBind, (m) => {
        setAttribute(m, ChannelNumber, 0x4abc);
        setAttribute(m, XorPeerAddress, p);
      }),
    );
    await h.handler.handle(
      encodeChannelData(0x4abc, bytes("to peer"), transport === "tcp"),
      client,
    );
    await h.handler.handle(
      encodeChannelData(0x4abd, bytes("unbound"), transport === "tcp"),
      client,
    );
    assert.deepEqual(relay.sent.map((s) => [new TextDecoder().decode(s.data), s.peer]), [[
      "to peer",
      p,
    ]]);
    relay.receive(bytes("12345"), p);
    const out = client.received.at(-1)!;
    assert.equal(out.length, transport === "tcp" ? 12 : 9);
    assert.deepEqual(decodeChannelData(out), { channel: 0x4abc, data: bytes("12345") });
    // The channel's permission lapses at 300 s unless refreshed; the channel itself lives on.
    h.advance(300);
    relay.receive(bytes("late"), p);
    assert.equal(client.received.length, 1);
  });
}

Deno.test("a Send indication with DONT-FRAGMENT or an unknown required attribute is dropped", async () => {
  const { h, client, relay } = await allocated();
  const p = peer();
  await h.signed(
    client,
    request(TurnMethod.CreatePermission, (m) => setAttribute(m, XorPeerAddress, p)),
  );
  await h.send(client, sendIndication(p, bytes("df"), (m) => setAttribute(m, DontFragment, true)));
  await h.send(
    client,
    sendIndication(
      p,
      bytes("unknown"),
      (m) => m.attributes.push({ type: 0x0031, value: new Uint8Array(0) }),
    ),
  );
  await h.send(client, sendIndication(p, bytes("fine")));
  assert.deepEqual(relay.sent.map((s) => new TextDecoder().decode(s.data)), ["fine"]);
});

Deno.test("maxAllocations caps allocations with 508 until one is freed", async () => {
  const h = new Harness({ maxAllocations: 2 });
  const clients = [1, 2, 3].map((port) => new FakeClient("udp", port));
  assert.equal(code(await h.signed(clients[0], allocateRequest())), "success");
  assert.equal(code(await h.signed(clients[1], allocateRequest())), "success");
  assert.equal(code(await h.signed(clients[2], allocateRequest())), 508);
  await h.signed(clients[0], request(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 0)));
  assert.equal(code(await h.signed(clients[2], allocateRequest())), "success");
});

Deno.test("EVEN-PORT with R reserves port + 1, which a RESERVATION-TOKEN claims within 30 s", async () => {
  const h = new Harness();
  const first = await h.signed(
    new FakeClient("udp", 1),
    allocateRequest((m) => setAttribute(m, EvenPort, { reserveNext: true })),
  );
  const port = getAttribute(first, XorRelayedAddress)!.port;
  assert.equal(port % 2, 0);
  const token = getAttribute(first, ReservationToken)!;
  assert.ok(token !== 0n);
  const second = await h.signed(
    new FakeClient("udp", 2),
    allocateRequest((m) => setAttribute(m, ReservationToken, token)),
  );
  assert.equal(getAttribute(second, XorRelayedAddress)!.port, port + 1);
  const reuse = await h.signed(
    new FakeClient("udp", 3),
    allocateRequest((m) => setAttribute(m, ReservationToken, token)),
  );
  assert.equal(code(reuse), 508, "a token is good once");

  // An unclaimed reservation is released after 30 s.
  const third = await h.signed(
    new FakeClient("udp", 4),
    allocateRequest((m) => setAttribute(m, EvenPort, { reserveNext: true })),
  );
  const reserved = h.relays.at(-1)!;
  h.advance(30);
  assert.ok(reserved.closed);
  const late = await h.signed(
    new FakeClient("udp", 5),
    allocateRequest((m) =>
      setAttribute(m, ReservationToken, getAttribute(third, ReservationToken)!)
    ),
  );
  assert.equal(code(late), 508);
});

Deno.test("Binding requests are answered without credentials; responses keep the request's FINGERPRINT habit", async () => {
  const h = new Harness();
  const client = new FakeClient("udp", 11);
  const binding = await h.send(
    client,
    encodeMessage(createMessage(StunMethod.Binding, StunClass.Request), { fingerprint: true }),
  );
  assert.equal(code(binding), "success");
  assert.deepEqual(getAttribute(binding!, XorMappedAddress), client.address);
  assert.ok(hasFingerprint(binding!));
  const plain = await h.send(client, encodeMessage(allocateRequest()));
  assert.equal(hasFingerprint(plain!), false);
  const fingerprinted = await h.send(
    client,
    encodeMessage(allocateRequest(), { fingerprint: true }),
  );
  assert.ok(hasFingerprint(fingerprinted!));
});

Deno.test("an unknown request method gets 400; responses and unknown indications get nothing", async () => {
  const h = new Harness();
  const client = new FakeClient("udp", 12);
  assert.equal(code(await h.send(client, encodeMessage(request(0x0ff)))), 400);
  assert.equal(
    await h.send(
      client,
      encodeMessage(createMessage(TurnMethod.Allocate, StunClass.SuccessResponse)),
    ),
    undefined,
  );
  assert.equal(
    await h.send(client, encodeMessage(createMessage(0x0ff, StunClass.Indication))),
    undefined,
  );
});

Deno.test("a TCP client that disconnects loses its allocation, even mid-Allocate", async () => {
  const { h, client, relay } = await allocated();
  h.handler.disconnect(client.key);
  assert.equal(h.handler.allocationCount, 0);
  assert.ok(relay.closed);

  const racing = new FakeClient("tcp", 43);
  const wire = sign(allocateRequest(), h.credentials(), await h.nonce(racing));
  const answer = h.handler.handle(wire, racing); // the relay socket is being bound...
  h.handler.disconnect(racing.key); // ...when the connection closes
  assert.equal(await answer, undefined);
  assert.ok(h.relays.at(-1)!.closed, "the socket bound for a departed client is closed");
  assert.equal(h.handler.hasAllocation(racing.key), false);
  assert.deepEqual(h.internal, []);
});

Deno.test("close() frees every allocation and later input is ignored", async () => {
  const { h, client, relay } = await allocated();
  h.handler.close();
  assert.ok(relay.closed);
  assert.equal(await h.handler.handle(encodeMessage(allocateRequest()), client), undefined);
});
