/**
 * The TURN server on real loopback sockets, driven by a client flow written
 * out step by step: the same flow over UDP and over TCP.
 */
import assert from "node:assert/strict";
import net from "node:net";
import {
  ChannelNumber,
  createMessage,
  Data,
  encodeMessage,
  getAttribute,
  Lifetime,
  Nonce,
  Realm,
  RequestedTransport,
  setAttribute,
  StunClass,
  StunMethod,
  TRANSPORT_UDP,
  XorMappedAddress,
  XorPeerAddress,
  XorRelayedAddress,
} from "../../lib/stun/mod.ts";
import {
  encodeChannelData,
  mintTurnCredentials,
  startTurnServer,
  TurnMethod,
  type TurnServer,
} from "../../lib/turn/mod.ts";
import { errorCodeOf, sleep, TestTurnClient, udpPeer } from "./_client.ts";

const SECRET = "correct horse battery staple";
const REALM = "tun.test";
const text = (s: string) => new TextEncoder().encode(s);
const requestUdp = (m: Parameters<typeof setAttribute>[0]) =>
  setAttribute(m, RequestedTransport, TRANSPORT_UDP);

function startServer(extra: Partial<Parameters<typeof startTurnServer>[0]> = {}) {
  const internal: unknown[] = [];
  return startTurnServer({
    hostname: "127.0.0.1",
    port: 0,
    realm: REALM,
    secret: SECRET,
    // The test peers are on loopback; peer_policy_test.ts covers the default.
    allowPrivatePeers: true,
    onInternalError: (err) => internal.push(err),
    ...extra,
  }).then((server) => ({ server, internal }));
}

function connect(server: TurnServer, transport: "udp" | "tcp") {
  return transport === "udp"
    ? TestTurnClient.udp(server.udpPort)
    : TestTurnClient.tcp(server.tcpPort);
}

for (const transport of ["udp", "tcp"] as const) {
  Deno.test(`a client relays to a peer and back over ${transport.toUpperCase()}: allocate, permit, send, channel, free`, async () => {
    const { server, internal } = await startServer();
    await using _server = server;
    await using client = await connect(server, transport);
    await using peer = await udpPeer();
    const { username, password } = mintTurnCredentials(SECRET, "alice", 600);

    // Allocate: the first try is challenged with 401, REALM and NONCE; the second succeeds.
    const { challenge, response } = await client.allocate(username, password, requestUdp);
    assert.equal(errorCodeOf(challenge), 401);
    assert.equal(getAttribute(challenge, Realm), REALM);
    assert.ok(getAttribute(challenge, Nonce));
    assert.equal(response.class, StunClass.SuccessResponse, `got ${errorCodeOf(response)}`);
    const relayed = getAttribute(response, XorRelayedAddress)!;
    assert.equal(relayed.address, "127.0.0.1");
    assert.ok(relayed.port > 0);
    assert.equal(getAttribute(response, Lifetime), 600);
    assert.equal(getAttribute(response, XorMappedAddress)?.address, "127.0.0.1");
    assert.equal(server.allocations, 1);

    // Without a permission, nothing goes out and nothing comes in.
    const send = (data: Uint8Array) => {
      const indication = createMessage(TurnMethod.Send, StunClass.Indication);
      setAttribute(indication, XorPeerAddress, peer.address);
      setAttribute(indication, Data, data);
      client.sendRaw(encodeMessage(indication));
    };
    send(text("too early"));
    peer.send(text("unsolicited"), relayed);
    await sleep(100);
    assert.equal(peer.received.length, 0, "a Send without permission was relayed");
    assert.equal(client.queued, 0, "data from a peer without permission was relayed");

    // CreatePermission, then a Send indication reaches the peer from the relayed address.
    const permitted = await client.signed(
      TurnMethod.CreatePermission,
      (m) => setAttribute(m, XorPeerAddress, peer.address),
    );
    assert.equal(permitted.class, StunClass.SuccessResponse, `got ${errorCodeOf(permitted)}`);
    send(text("hello peer"));
    const atPeer = await peer.next();
    assert.equal(new TextDecoder().decode(atPeer.data), "hello peer");
    assert.deepEqual(atPeer.from, relayed);

    // The peer answers the relayed address: a Data indication names it.
    peer.send(text("hello client"), relayed);
    const data = await client.next();
    assert.equal(data.kind, "stun");
    if (data.kind !== "stun") return;
    assert.equal(data.message.method, TurnMethod.Data);
    assert.equal(data.message.class, StunClass.Indication);
    assert.deepEqual(getAttribute(data.message, XorPeerAddress), peer.address);
    assert.equal(new TextDecoder().decode(getAttribute(data.message, Data)), "hello client");

    // ChannelBind, then ChannelData both ways. An odd length shows TCP's padding.
    const bound = await client.signed(TurnMethod.ChannelBind, (m) => {
      setAttribute(m, ChannelNumber, 0x4001);
      setAttribute(m, XorPeerAddress, peer.address);
    });
    assert.equal(bound.class, StunClass.SuccessResponse, `got ${errorCodeOf(bound)}`);
    client.sendRaw(encodeChannelData(0x4001, text("over a channel"), transport === "tcp"));
    assert.equal(new TextDecoder().decode((await peer.next()).data), "over a channel");
    peer.send(text("odd"), relayed);
    const back = await client.next();
    assert.equal(back.kind, "channel");
    if (back.kind !== "channel") return;
    assert.equal(back.channel, 0x4001);
    assert.equal(new TextDecoder().decode(back.data), "odd");
    assert.equal(back.raw.length, transport === "tcp" ? 8 : 7, "4-byte header + 3, padded on TCP");

    // Refresh with LIFETIME 0 frees the allocation and its port.
    const freed = await client.signed(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 0));
    assert.equal(freed.class, StunClass.SuccessResponse, `got ${errorCodeOf(freed)}`);
    assert.equal(getAttribute(freed, Lifetime), 0);
    assert.equal(server.allocations, 0);
    peer.send(text("after free"), relayed);
    await sleep(100);
    assert.equal(client.queued, 0, "a freed allocation still relayed");
    const again = await client.signed(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 600));
    assert.equal(errorCodeOf(again), 437, "Refresh after the free: no allocation");
    assert.deepEqual(internal, []);
  });

  Deno.test(`a wrong password and expired credentials are refused with 401 over ${transport.toUpperCase()}`, async () => {
    const { server } = await startServer();
    await using _server = server;
    const good = mintTurnCredentials(SECRET, "bob", 600);
    const expired = mintTurnCredentials(SECRET, "bob", 60, Date.now() - 120_000);
    const otherSecret = mintTurnCredentials("not the secret", "bob", 600);
    const cases = [
      { name: "wrong password", username: good.username, password: "guess" },
      { name: "expired", username: expired.username, password: expired.password },
      { name: "minted with another secret", ...otherSecret },
    ];
    for (const c of cases) {
      await using client = await connect(server, transport);
      const { response } = await client.allocate(c.username, c.password, requestUdp);
      assert.equal(errorCodeOf(response), 401, c.name);
      assert.ok(getAttribute(response, Nonce), `${c.name}: a 401 carries a fresh NONCE`);
    }
    assert.equal(server.allocations, 0);
  });

  Deno.test(`the TURN port answers STUN Binding requests without credentials over ${transport.toUpperCase()}`, async () => {
    const { server } = await startServer();
    await using _server = server;
    await using client = await connect(server, transport);
    const response = await client.request(createMessage(StunMethod.Binding, StunClass.Request));
    assert.equal(response.class, StunClass.SuccessResponse);
    assert.equal(getAttribute(response, XorMappedAddress)?.address, "127.0.0.1");
  });
}

for (const transport of ["udp", "tcp"] as const) {
  Deno.test(`a burst of distinct messages crosses the relay intact both ways over ${transport.toUpperCase()}`, async () => {
    // The server reads every datagram into one reused buffer: what it relays must not be
    // a view of it that a later datagram overwrites.
    const { server, internal } = await startServer();
    await using _server = server;
    await using client = await connect(server, transport);
    await using peer = await udpPeer();
    const { username, password } = mintTurnCredentials(SECRET, "burst", 600);
    const { response } = await client.allocate(username, password, requestUdp);
    const relayed = getAttribute(response, XorRelayedAddress)!;
    await client.signed(TurnMethod.ChannelBind, (m) => {
      setAttribute(m, ChannelNumber, 0x4002);
      setAttribute(m, XorPeerAddress, peer.address);
    });
    // 40 x 1 kB: well within a default receive buffer, so nothing is lost on loopback.
    const COUNT = 40;
    const payload = (i: number) => new Uint8Array(1000 + i).fill(i);
    for (let i = 0; i < COUNT; i++) {
      client.sendRaw(encodeChannelData(0x4002, payload(i), transport === "tcp"));
    }
    for (let i = 0; i < COUNT; i++) {
      const { data } = await peer.next();
      assert.deepEqual(data, payload(data.length - 1000), `datagram ${i} arrived corrupted`);
    }
    for (let i = 0; i < COUNT; i++) peer.send(payload(i), relayed);
    for (let i = 0; i < COUNT; i++) {
      const back = await client.next();
      assert.equal(back.kind, "channel");
      if (back.kind !== "channel") return;
      assert.deepEqual(
        back.data,
        payload(back.data.length - 1000),
        `message ${i} arrived corrupted`,
      );
    }
    assert.deepEqual(internal, []);
  });
}

Deno.test("two clients in relay mode reach each other even where the relay address does not loop back", async () => {
  // As behind 1:1 NAT: relayAddress (127.0.0.2) is not where the relay sockets listen
  // (127.0.0.1), so a datagram sent there would never come back to this server.
  const { server, internal } = await startServer({ relayAddress: "127.0.0.2" });
  await using _server = server;
  await using a = await TestTurnClient.udp(server.udpPort);
  await using b = await TestTurnClient.udp(server.udpPort);
  const relayed = [];
  for (const [client, name] of [[a, "a"], [b, "b"]] as const) {
    const { username, password } = mintTurnCredentials(SECRET, name, 600);
    const { response } = await client.allocate(username, password, requestUdp);
    relayed.push(getAttribute(response, XorRelayedAddress)!);
  }
  const [atA, atB] = relayed;
  assert.equal(atA.address, "127.0.0.2");
  await a.signed(TurnMethod.ChannelBind, (m) => {
    setAttribute(m, ChannelNumber, 0x4001);
    setAttribute(m, XorPeerAddress, atB);
  });
  await b.signed(TurnMethod.CreatePermission, (m) => setAttribute(m, XorPeerAddress, atA));

  // A's ChannelData reaches B as a Data indication from A's relayed address ...
  a.sendRaw(encodeChannelData(0x4001, text("to b")));
  const atPeer = await b.next();
  assert.equal(atPeer.kind, "stun");
  if (atPeer.kind !== "stun") return;
  assert.deepEqual(getAttribute(atPeer.message, XorPeerAddress), atA);
  assert.equal(new TextDecoder().decode(getAttribute(atPeer.message, Data)), "to b");
  // ... and B's Send indication reaches A over A's channel.
  const indication = createMessage(TurnMethod.Send, StunClass.Indication);
  setAttribute(indication, XorPeerAddress, atA);
  setAttribute(indication, Data, text("to a"));
  b.sendRaw(encodeMessage(indication));
  const back = await a.next();
  assert.equal(back.kind === "channel" && new TextDecoder().decode(back.data), "to a");

  // Permissions still rule: B permitted 127.0.0.2 only, so a stranger on 127.0.0.1 is dropped.
  await using stranger = await udpPeer();
  stranger.send(text("unsolicited"), { ...atB, address: "127.0.0.1" });
  await sleep(50);
  assert.equal(b.queued, 0, "a peer without a permission got through");
  assert.deepEqual(internal, []);
});

Deno.test("UDP and TCP listen on one port number when started with port 0", async () => {
  const { server } = await startServer();
  await using _server = server;
  assert.equal(server.udpPort, server.tcpPort);
  assert.equal(server.relayAddress, "127.0.0.1");
});

Deno.test("garbage from one client leaves another client's allocation working", async () => {
  const { server, internal } = await startServer();
  await using _server = server;
  await using good = await TestTurnClient.udp(server.udpPort);
  await using peer = await udpPeer();
  const { username, password } = mintTurnCredentials(SECRET, "good", 600);
  const { response } = await good.allocate(username, password, requestUdp);
  const relayed = getAttribute(response, XorRelayedAddress)!;
  await good.signed(TurnMethod.ChannelBind, (m) => {
    setAttribute(m, ChannelNumber, 0x4fff);
    setAttribute(m, XorPeerAddress, peer.address);
  });

  // A UDP client sending junk, and a TCP client whose stream is corrupt.
  await using noisy = await TestTurnClient.udp(server.udpPort);
  for (let i = 0; i < 200; i++) {
    const junk = crypto.getRandomValues(new Uint8Array(1 + (i * 37) % 300));
    noisy.sendRaw(junk);
  }
  noisy.sendRaw(encodeChannelData(0x4fff, text("not your channel")));
  await using corrupt = await TestTurnClient.tcp(server.tcpPort);
  corrupt.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]));

  good.sendRaw(encodeChannelData(0x4fff, text("still here")));
  const atPeer = await peer.next();
  assert.equal(new TextDecoder().decode(atPeer.data), "still here");
  peer.send(text("and back"), relayed);
  const back = await good.next();
  assert.equal(back.kind === "channel" && new TextDecoder().decode(back.data), "and back");
  await sleep(50);
  assert.equal(peer.received.length, 0, "the noisy client's ChannelData reached the peer");
  assert.ok(corrupt.ended, "a corrupt TCP stream is closed");
  assert.deepEqual(internal, []);
});

Deno.test("closing a TCP connection frees its allocation", async () => {
  const { server } = await startServer();
  await using _server = server;
  const client = await TestTurnClient.tcp(server.tcpPort);
  const { username, password } = mintTurnCredentials(SECRET, "carol", 600);
  const { response } = await client.allocate(username, password, requestUdp);
  assert.equal(response.class, StunClass.SuccessResponse);
  assert.equal(server.allocations, 1);
  await client.close();
  const deadline = Date.now() + 2000;
  while (server.allocations > 0 && Date.now() < deadline) await sleep(10);
  assert.equal(server.allocations, 0);
});

Deno.test("a TCP client that trickles a request one byte at a time is answered", async () => {
  const { server } = await startServer();
  await using _server = server;
  const socket = net.connect({ port: server.tcpPort, host: "127.0.0.1" });
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once("connect", resolve));
  const request = createMessage(StunMethod.Binding, StunClass.Request);
  const bytes = encodeMessage(request);
  const answer = new Promise<Uint8Array>((resolve) => socket.once("data", resolve));
  for (const b of bytes) {
    socket.write(new Uint8Array([b]));
    await sleep(1);
  }
  const response = await answer;
  socket.destroy();
  assert.equal(response.length >= 20, true);
  assert.deepEqual(new Uint8Array(response.subarray(8, 20)), request.transactionId);
});

Deno.test("startTurnServer refuses bad options before binding anything", async () => {
  const base = { realm: REALM, secret: SECRET, hostname: "127.0.0.1", port: 0 };
  await assert.rejects(startTurnServer({ ...base, port: 70000 }), RangeError);
  await assert.rejects(startTurnServer({ ...base, hostname: "localhost" }), TypeError);
  await assert.rejects(startTurnServer({ ...base, relayAddress: "relay.example" }), TypeError);
  await assert.rejects(startTurnServer({ ...base, secret: "" }), RangeError);
  await assert.rejects(startTurnServer({ ...base, maxAllocations: 0 }), RangeError);
});
