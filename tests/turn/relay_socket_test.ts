/** Relayed transport addresses on real UDP sockets (lib/turn/relay_socket.ts). */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { udpRelayOpener } from "../../lib/turn/mod.ts";
import { sleep, udpPeer } from "./_client.ts";

/** True when nothing holds the UDP port on 127.0.0.1. */
async function portFree(port: number): Promise<boolean> {
  const socket = dgram.createSocket("udp4");
  const free = await new Promise<boolean>((resolve) => {
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => resolve(true));
  });
  await new Promise<void>((resolve) => free ? socket.close(() => resolve()) : resolve());
  return free;
}

Deno.test("a relay socket sends to peers and hands their datagrams to onData", async () => {
  const open = udpRelayOpener({ bindAddress: "127.0.0.1" });
  const { relay } = await open({ family: "IPv4", evenPort: false, reserveNext: false });
  await using peer = await udpPeer();
  const got = new Promise<[Uint8Array, unknown]>((resolve) => {
    relay.onData = (data, from) => resolve([data, from]);
  });
  relay.send(new Uint8Array([1, 2, 3]), peer.address);
  const atPeer = await peer.next();
  assert.deepEqual(atPeer.data, new Uint8Array([1, 2, 3]));
  assert.equal(atPeer.from.port, relay.port);
  peer.send(new Uint8Array([4]), { family: "IPv4", address: "127.0.0.1", port: relay.port });
  const [data, from] = await got;
  assert.deepEqual(new Uint8Array(data), new Uint8Array([4]));
  assert.deepEqual(from, peer.address);
  relay.close();
  relay.close(); // twice is fine
  relay.send(new Uint8Array([5]), peer.address); // and sending after close is a no-op
  // Closing is asynchronous underneath; the port comes free shortly after.
  const deadline = Date.now() + 2000;
  while (!await portFree(relay.port) && Date.now() < deadline) await sleep(10);
  assert.ok(await portFree(relay.port), "close released the port");
});

Deno.test("EVEN-PORT gets an even port, and with R the odd one above it is held", async () => {
  const open = udpRelayOpener({ bindAddress: "127.0.0.1" });
  const even = await open({ family: "IPv4", evenPort: true, reserveNext: false });
  assert.equal(even.relay.port % 2, 0);
  assert.equal(even.reserved, undefined);
  even.relay.close();

  const pair = await open({ family: "IPv4", evenPort: true, reserveNext: true });
  assert.equal(pair.relay.port % 2, 0);
  assert.equal(pair.reserved?.port, pair.relay.port + 1);
  assert.equal(await portFree(pair.relay.port + 1), false, "the reserved port is held");
  pair.relay.close();
  pair.reserved!.close();
});
