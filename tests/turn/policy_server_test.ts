/**
 * The peer policy and the allocation quota on real loopback sockets: the
 * server started with its defaults refuses to relay to loopback or private
 * peers in any spelling (403), yet two of its own clients in relay mode still
 * reach each other; allowPrivatePeers opens loopback; a user's allocations
 * stop at maxAllocationsPerUser (486).
 */
import assert from "node:assert/strict";
import {
  createMessage,
  Data,
  encodeMessage,
  getAttribute,
  RequestedTransport,
  setAttribute,
  StunClass,
  type StunMessage,
  TRANSPORT_UDP,
  type TransportAddress,
  XorPeerAddress,
  XorRelayedAddress,
} from "../../lib/stun/mod.ts";
import {
  mintTurnCredentials,
  startTurnServer,
  TurnMethod,
  type TurnServerOptions,
} from "../../lib/turn/mod.ts";
import { errorCodeOf, sleep, TestTurnClient, udpPeer } from "./_client.ts";

const SECRET = "policy secret";
const requestUdp = (m: StunMessage) => setAttribute(m, RequestedTransport, TRANSPORT_UDP);

/** A Send indication carrying `data` to `to`. */
function createSend(to: TransportAddress, data: string): Uint8Array {
  const msg = createMessage(TurnMethod.Send, StunClass.Indication);
  setAttribute(msg, XorPeerAddress, to);
  setAttribute(msg, Data, new TextEncoder().encode(data));
  return encodeMessage(msg);
}

function start(extra: Partial<TurnServerOptions> = {}) {
  return startTurnServer({
    hostname: "127.0.0.1",
    port: 0,
    realm: "tun.test",
    secret: SECRET,
    ...extra,
  });
}

/** A UDP client with an allocation under `id`; returns it and its relayed address. */
async function allocated(port: number, id: string) {
  const client = await TestTurnClient.udp(port);
  const { username, password } = mintTurnCredentials(SECRET, id, 600);
  const { response } = await client.allocate(username, password, requestUdp);
  assert.equal(response.class, StunClass.SuccessResponse, `Allocate: ${errorCodeOf(response)}`);
  return { client, relayed: getAttribute(response, XorRelayedAddress)! };
}

async function permit(client: TestTurnClient, peer: TransportAddress) {
  const r = await client.signed(
    TurnMethod.CreatePermission,
    (m) => setAttribute(m, XorPeerAddress, peer),
  );
  return errorCodeOf(r) ?? "success";
}

Deno.test("by default the server refuses loopback and private peers with 403 in every spelling", async () => {
  await using v4 = await start();
  const { client } = await allocated(v4.udpPort, "alice");
  await using _client = client;
  await using peer = await udpPeer();
  const refused = [
    "127.0.0.1",
    "127.0.0.2",
    "10.0.0.1",
    "192.168.1.1",
    "0.0.0.0",
    "169.254.169.254",
  ];
  for (const address of refused) {
    assert.equal(await permit(client, { family: "IPv4", address, port: peer.address.port }), 403);
  }
  // An IPv4 allocation cannot name ::ffff:127.0.0.1 at all (RFC 8656 §9.2: 443).
  assert.equal(
    await permit(client, { family: "IPv6", address: "::ffff:127.0.0.1", port: 9 }),
    443,
  );
  // Nothing was relayed to the loopback peer on the way.
  client.sendRaw(createSend(peer.address, "should not arrive"));
  await sleep(100);
  assert.equal(peer.received.length, 0);

  // An IPv6 relay meets the IPv6 spellings of IPv4 loopback, and says 403 to each.
  await using v6 = await start({ hostname: "::", relayAddress: "::1" });
  const { client: c6 } = await allocated(v6.udpPort, "bob");
  await using _c6 = c6;
  const spellings = ["::1", "::", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::a00:1", "fe80::1"];
  for (const address of spellings) {
    assert.equal(await permit(c6, { family: "IPv6", address, port: 9 }), 403, address);
  }
});

Deno.test("with allowPrivatePeers the server relays to a loopback peer", async () => {
  await using server = await start({ allowPrivatePeers: true });
  const { client, relayed } = await allocated(server.udpPort, "alice");
  await using _client = client;
  await using peer = await udpPeer();
  assert.equal(await permit(client, peer.address), "success");
  client.sendRaw(createSend(peer.address, "hello loopback"));
  const got = await peer.next();
  assert.equal(new TextDecoder().decode(got.data), "hello loopback");
  assert.deepEqual(got.from, relayed);
});

Deno.test("two clients of a server on loopback reach each other's relayed addresses by default", async () => {
  await using server = await start();
  const a = await allocated(server.udpPort, "alice");
  const b = await allocated(server.udpPort, "bob");
  await using _a = a.client;
  await using _b = b.client;
  assert.equal(a.relayed.address, "127.0.0.1");
  assert.equal(await permit(a.client, b.relayed), "success");
  assert.equal(await permit(b.client, a.relayed), "success");
  a.client.sendRaw(createSend(b.relayed, "relay to relay"));
  const got = await b.client.next();
  assert.equal(got.kind, "stun");
  if (got.kind !== "stun") return;
  assert.equal(got.message.method, TurnMethod.Data);
  assert.equal(new TextDecoder().decode(getAttribute(got.message, Data)), "relay to relay");
  // The same IP at a port that is not an allocation (a peer's socket) stays refused.
  await using peer = await udpPeer();
  assert.equal(await permit(a.client, peer.address), 403);
});

Deno.test("a user's allocations stop at maxAllocationsPerUser with 486; other users go on", async () => {
  await using server = await start({ maxAllocationsPerUser: 2 });
  const clients: TestTurnClient[] = [];
  try {
    const codes: (number | string)[] = [];
    for (const id of ["alice", "alice", "alice", "bob"]) {
      const client = await TestTurnClient.udp(server.udpPort);
      clients.push(client);
      const { username, password } = mintTurnCredentials(SECRET, id, 600);
      const { response } = await client.allocate(username, password, requestUdp);
      codes.push(errorCodeOf(response) ?? "success");
    }
    assert.deepEqual(codes, ["success", "success", 486, "success"]);
    assert.equal(server.allocations, 3);
  } finally {
    for (const c of clients) await c.close();
  }
});
