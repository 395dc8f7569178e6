/**
 * lib/runtime's UDP sockets: the runtime's own (`bindUdp`, Deno's datagram API
 * under --unstable-net) and the node:dgram one Bun uses, held to one contract.
 */
import assert from "node:assert/strict";
import { bindUdp, type UdpSocketLike } from "../../lib/runtime/mod.ts";
import { sockOpts } from "../../lib/runtime/deno_sockopt.ts";
import { bindNodeUdp } from "../../lib/runtime/node_udp.ts";
import { Sock, udpFdsOnPort } from "../../lib/runtime/udp_buffers.ts";
import { udpPeer } from "../turn/_client.ts";

const IMPLEMENTATIONS = [["bindUdp", bindUdp], ["node:dgram", bindNodeUdp]] as const;

for (const [name, bind] of IMPLEMENTATIONS) {
  Deno.test(`${name}: a burst of distinct datagrams arrives intact, with its sender's address`, async () => {
    const got: { data: Uint8Array; address: string; port: number }[] = [];
    const socket: UdpSocketLike = await bind({
      hostname: "127.0.0.1",
      port: 0,
      // The view may be reused for the next datagram: keep a copy.
      onMessage: (data, address, port) => got.push({ data: data.slice(), address, port }),
    });
    await using peer = await udpPeer();
    try {
      assert.ok(socket.port > 0);
      assert.equal(socket.family, "IPv4");
      const to = { family: "IPv4" as const, address: "127.0.0.1", port: socket.port };
      // 50: the receive buffer's default (208 KiB) holds ~90 such datagrams on loopback.
      for (let i = 0; i < 50; i++) peer.send(new Uint8Array(1200).fill(i), to);
      const deadline = Date.now() + 3000;
      while (got.length < 50 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(got.length, 50);
      for (const { data, address, port } of got) {
        assert.equal(data.length, 1200);
        assert.ok(data.every((b) => b === data[0]), "a datagram was overwritten by a later one");
        assert.equal(address, "127.0.0.1");
        assert.equal(port, peer.address.port);
      }

      // Each send owns its bytes: a burst of fresh arrays arrives as sent.
      for (let i = 0; i < 50; i++) {
        socket.send(new Uint8Array(800).fill(i), peer.address.port, "127.0.0.1");
      }
      const first = await peer.next();
      assert.equal(first.from.port, socket.port);
      assert.ok(first.data.every((b) => b === first.data[0]));
    } finally {
      socket.close();
      socket.close(); // twice is fine
    }
    socket.send(new Uint8Array([1]), peer.address.port, "127.0.0.1"); // after close: a no-op
  });

  Deno.test(`${name}: binding a port that is taken rejects`, async () => {
    const first = await bind({ hostname: "127.0.0.1", port: 0, onMessage: () => {} });
    try {
      await assert.rejects(bind({ hostname: "127.0.0.1", port: first.port, onMessage: () => {} }));
    } finally {
      first.close();
    }
  });
}

Deno.test("receiveBuffer raises the kernel receive buffer of that socket only", async () => {
  const opts = await sockOpts();
  assert.ok(opts, "libc through FFI (Linux, -A)");
  const rcvbuf = (port: number) => {
    const fds = udpFdsOnPort(port);
    assert.equal(fds.length, 1, `one socket of this process on port ${port}`);
    return opts.getInt(fds[0], Sock.SOL_SOCKET, Sock.SO_RCVBUF)!;
  };
  const plain = await bindUdp({ hostname: "127.0.0.1", port: 0, onMessage: () => {} });
  const raised = await bindUdp({
    hostname: "127.0.0.1",
    port: 0,
    receiveBuffer: 1024 * 1024,
    onMessage: () => {},
  });
  try {
    // The kernel reports twice what was set; without CAP_NET_ADMIN, rmem_max may cap it.
    assert.ok(rcvbuf(raised.port) >= 2 * 1024 * 1024 || rcvbuf(raised.port) > rcvbuf(plain.port));
    assert.ok(rcvbuf(plain.port) < 2 * 1024 * 1024, "the other socket kept its size");
  } finally {
    plain.close();
    raised.close();
  }
});
