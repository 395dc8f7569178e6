/**
 * Raising the receive buffer of UDP sockets we hold no handle to
 * (lib/runtime/udp_buffers.ts): the choice of sockets and the fallback to
 * SO_RCVBUFFORCE against a kernel double, then the real thing on a socket
 * node:dgram opened.
 */
import dgram from "node:dgram";
import type { AddressInfo } from "node:net";
import { assert, assertEquals } from "../_util/assert.ts";
import { raiseUdpReceiveBuffers } from "../../lib/runtime/mod.ts";
import { raiseWith, Sock, type SockOpts } from "../../lib/runtime/udp_buffers.ts";

/** A kernel double: fd -> socket, with rmem_max and CAP_NET_ADMIN as given. */
function fakeKernel(
  sockets: Record<number, { type: number; protocol: number; rcvbuf: number }>,
  rmemMax: number,
  privileged: boolean,
): SockOpts & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    getInt(fd, level, name) {
      const s = sockets[fd];
      if (!s || level !== Sock.SOL_SOCKET) return null;
      if (name === Sock.SO_TYPE) return s.type;
      if (name === Sock.SO_PROTOCOL) return s.protocol;
      if (name === Sock.SO_RCVBUF) return s.rcvbuf;
      return null;
    },
    setInt(fd, _level, name, value) {
      calls.push(`${fd}:${name === Sock.SO_RCVBUFFORCE ? "force" : "set"}`);
      const s = sockets[fd];
      if (name === Sock.SO_RCVBUF) s.rcvbuf = 2 * Math.min(value, rmemMax);
      else if (name === Sock.SO_RCVBUFFORCE && privileged) s.rcvbuf = 2 * value;
      else return false;
      return true;
    },
  };
}

const UDP = { type: Sock.SOCK_DGRAM, protocol: Sock.IPPROTO_UDP };
const MiB = 1024 * 1024;

Deno.test("only UDP sockets below the size asked for are raised; TCP and Unix datagram sockets are left alone", () => {
  const kernel = fakeKernel(
    {
      3: { ...UDP, rcvbuf: 212992 },
      4: { type: 1, protocol: 6, rcvbuf: 131072 }, // TCP
      5: { type: Sock.SOCK_DGRAM, protocol: 0, rcvbuf: 212992 }, // AF_UNIX datagram
      6: { ...UDP, rcvbuf: 16 * MiB }, // already large
    },
    8 * MiB,
    false,
  );
  const result = raiseWith(kernel, 4 * MiB, [3, 4, 5, 6, 7]);
  assertEquals(result, { raised: 1, minBytes: 8 * MiB });
  assertEquals(kernel.calls, ["3:set"]);
});

Deno.test("where rmem_max caps the request, SO_RCVBUFFORCE is tried and a refusal keeps the capped size", () => {
  const cases: [privileged: boolean, expected: number][] = [[true, 8 * MiB], [false, 425984]];
  for (const [privileged, expected] of cases) {
    const kernel = fakeKernel({ 3: { ...UDP, rcvbuf: 212992 } }, 212992, privileged);
    assertEquals(raiseWith(kernel, 4 * MiB, [3]), { raised: 1, minBytes: expected });
    assertEquals(kernel.calls, ["3:set", "3:force"]);
  }
});

Deno.test("without FFI nothing is touched", () => {
  assertEquals(raiseWith(null, 4 * MiB, [3]), { raised: 0, minBytes: null });
});

Deno.test(
  "a node:dgram socket's receive buffer grows to at least 1 MiB and a second pass changes nothing",
  {
    ignore: Deno.build.os !== "linux",
  },
  async () => {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    try {
      const rmemMax = Number(await Deno.readTextFile("/proc/sys/net/core/rmem_max"));
      const root = Deno.uid() === 0;
      const first = await raiseUdpReceiveBuffers(MiB);
      assert(first.raised >= 1, `raised ${first.raised}`);
      assert(
        first.minBytes! >= (root ? 2 * MiB : Math.min(2 * MiB, 2 * rmemMax)),
        `${first.minBytes}`,
      );
      // What the kernel says of that very socket (`ss`, iproute2: rb is its receive buffer).
      const port = (socket.address() as AddressInfo).port;
      const ss = new Deno.Command("ss", { args: ["-uamnH", `sport = :${port}`] }).outputSync();
      const rb = Number(/rb(\d+)/.exec(new TextDecoder().decode(ss.stdout))?.[1]);
      assert(rb >= first.minBytes!, `ss says rb ${rb}`);
      const second = await raiseUdpReceiveBuffers(MiB);
      assertEquals(second.raised, 0);
    } finally {
      socket.close();
    }
  },
);
