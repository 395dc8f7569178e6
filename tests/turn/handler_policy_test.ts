/**
 * The handler's default peer policy and per-user allocation quota, with fake
 * sockets and a hand-moved clock (real sockets: policy_server_test.ts).
 */
import assert from "node:assert/strict";
import {
  ChannelNumber,
  createMessage,
  Data,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  getAttribute,
  Lifetime,
  setAttribute,
  StunClass,
  type TransportAddress,
  XorPeerAddress,
} from "../../lib/stun/mod.ts";
import { mintTurnCredentials, TurnHandler, TurnMethod } from "../../lib/turn/mod.ts";
import { allocateRequest, FakeClient, Harness, request, SECRET } from "./_fake.ts";

const code = (m: DecodedStunMessage | undefined) =>
  m?.class === StunClass.ErrorResponse ? getAttribute(m, ErrorCode)?.code : "success";
const v4 = (address: string, port = 5000): TransportAddress => ({ family: "IPv4", address, port });
const permit = (p: TransportAddress) =>
  request(TurnMethod.CreatePermission, (m) => setAttribute(m, XorPeerAddress, p));
const bind = (p: TransportAddress, channel = 0x4001) =>
  request(TurnMethod.ChannelBind, (m) => {
    setAttribute(m, ChannelNumber, channel);
    setAttribute(m, XorPeerAddress, p);
  });
function sendIndication(to: TransportAddress, text: string): Uint8Array {
  const msg = createMessage(TurnMethod.Send, StunClass.Indication);
  setAttribute(msg, XorPeerAddress, to);
  setAttribute(msg, Data, new TextEncoder().encode(text));
  return encodeMessage(msg);
}

/** A harness with the default policy (no allowPrivatePeers) and one allocated client. */
async function strict(options: ConstructorParameters<typeof Harness>[0] = {}) {
  const h = new Harness({ allowPrivatePeers: false, ...options });
  const client = new FakeClient("udp", 40_000);
  const creds = h.credentials();
  assert.equal(code(await h.signed(client, allocateRequest(), creds)), "success");
  return { h, client, creds, relay: h.relays.at(-1)! };
}

Deno.test("by default CreatePermission and ChannelBind to forbidden peers get 403, public ones succeed", async () => {
  const { h, client, creds } = await strict();
  const refused = ["127.0.0.1", "10.0.0.1", "0.0.0.0", "169.254.169.254", "224.0.0.1"];
  for (const address of refused) {
    assert.equal(code(await h.signed(client, permit(v4(address)), creds)), 403, address);
    assert.equal(code(await h.signed(client, bind(v4(address)), creds)), 403, address);
  }
  assert.equal(code(await h.signed(client, permit(v4("8.8.8.8")), creds)), "success");
  assert.equal(code(await h.signed(client, bind(v4("8.8.8.8")), creds)), "success");
});

Deno.test("allowPrivatePeers lets private peers through, but never unspecified, multicast or broadcast", async () => {
  const { h, client, creds } = await strict({ allowPrivatePeers: true });
  for (const address of ["127.0.0.1", "10.0.0.1", "192.168.1.20", "198.18.0.7"]) {
    assert.equal(code(await h.signed(client, permit(v4(address)), creds)), "success", address);
  }
  for (const address of ["0.0.0.0", "224.0.0.1", "255.255.255.255"]) {
    assert.equal(code(await h.signed(client, permit(v4(address)), creds)), 403, address);
  }
});

Deno.test("the server's own relayed addresses are reachable, its other ports on that IP are not", async () => {
  // relayAddress 203.0.113.9 is a documentation address, in the private class.
  const { h, client, creds, relay } = await strict();
  const other = new FakeClient("udp", 40_001);
  assert.equal(code(await h.signed(other, allocateRequest(), h.credentials("bob"))), "success");
  const otherRelay = h.relays.at(-1)!;
  const atOther = v4("203.0.113.9", otherRelay.port);
  assert.equal(code(await h.signed(client, permit(atOther), creds)), "success");
  assert.equal(code(await h.signed(client, bind(atOther), creds)), "success");
  // Another port on the relay's IP (its signalling, a resolver, ...) is refused.
  const elsewhere = v4("203.0.113.9", 53);
  assert.equal(code(await h.signed(client, permit(elsewhere), creds)), 403);
  assert.equal(code(await h.signed(client, bind(elsewhere, 0x4002), creds)), 403);
  // The permission for the IP exists now, yet a Send indication to port 53 is dropped,
  // while one to the other allocation reaches its client (handed over inside the
  // server, not sent out of the relay socket) once that client permits our relayed IP.
  const atMine = v4("203.0.113.9", relay.port);
  const bob = h.credentials("bob");
  assert.equal(code(await h.signed(other, permit(atMine), bob)), "success");
  const before = other.received.length;
  await h.send(client, sendIndication(elsewhere, "to a resolver"));
  await h.send(client, sendIndication(atOther, "to a peer"));
  assert.deepEqual(relay.sent, [], "nothing left through the relay socket");
  const delivered = other.received.slice(before).map((bytes) => decodeMessage(bytes));
  assert.deepEqual(
    delivered.map((m) => new TextDecoder().decode(getAttribute(m, Data))),
    ["to a peer"],
  );
  assert.deepEqual(getAttribute(delivered[0], XorPeerAddress), atMine);
  // Once that allocation is gone, its port is just another port.
  await h.signed(
    other,
    request(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 0)),
    h.credentials("bob"),
  );
  assert.equal(code(await h.signed(client, permit(atOther), creds)), 403);
});

Deno.test("a user past maxAllocationsPerUser gets 486, other users do not, and freeing makes room", async () => {
  const h = new Harness({ maxAllocationsPerUser: 2 });
  const clients = [1, 2, 3].map((port) => new FakeClient("udp", port));
  // Credentials re-minted later (another expiry) name the same user "alice".
  const first = h.credentials("alice");
  h.now += 5_000;
  const second = h.credentials("alice");
  assert.notEqual(first.username, second.username);
  assert.equal(code(await h.signed(clients[0], allocateRequest(), first)), "success");
  assert.equal(code(await h.signed(clients[1], allocateRequest(), second)), "success");
  assert.equal(code(await h.signed(clients[2], allocateRequest(), second)), 486);
  assert.equal(h.relays.length, 2, "no relay socket for a refused Allocate");
  const bob = new FakeClient("udp", 4);
  assert.equal(code(await h.signed(bob, allocateRequest(), h.credentials("bob"))), "success");
  // A username with no id is its own user.
  const bare = mintTurnCredentials(SECRET, "", 600, h.now);
  assert.equal(code(await h.signed(new FakeClient("udp", 5), allocateRequest(), bare)), "success");
  // alice frees one; her third client may allocate now.
  const freed = await h.signed(
    clients[0],
    request(TurnMethod.Refresh, (m) => setAttribute(m, Lifetime, 0)),
    first,
  );
  assert.equal(code(freed), "success");
  assert.equal(code(await h.signed(clients[2], allocateRequest(), second)), "success");
});

Deno.test("maxAllocationsPerUser as a function gives each id its own quota", async () => {
  const asked: string[] = [];
  const h = new Harness({
    maxAllocationsPerUser: (id) => {
      asked.push(id);
      return id === "host" ? 3 : 1;
    },
  });
  let port = 1;
  const allocate = async (id: string) =>
    code(await h.signed(new FakeClient("udp", port++), allocateRequest(), h.credentials(id)));
  assert.deepEqual(
    [
      await allocate("host"),
      await allocate("host"),
      await allocate("host"),
      await allocate("host"),
    ],
    ["success", "success", "success", 486],
  );
  assert.deepEqual([await allocate("guest"), await allocate("guest")], ["success", 486]);
  assert.deepEqual(new Set(asked), new Set(["host", "guest"]));
});

Deno.test("a bad maxAllocationsPerUser is refused at construction", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(
      () =>
        new TurnHandler(
          { realm: "r", secret: "s", relayAddress: "192.0.2.1", maxAllocationsPerUser: bad },
          () => Promise.reject(new Error("unused")),
        ),
      RangeError,
      String(bad),
    );
  }
});
