/**
 * RtcPeer over real libwebrtc, both peers in this process on loopback: the
 * DataChannel opens, carries the tunnel byte-exact, and the connection's UDP
 * sockets get the receive buffer asked for (or keep libwebrtc's default when
 * asked for none).
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { raiseUdpReceiveBuffers } from "../../lib/runtime/mod.ts";
import { type DataChannelAdapter, RtcPeer, webrtcUnavailable } from "../../lib/rtc/mod.ts";
import { Mux } from "../../lib/tunnel/mod.ts";
import { mulberry32, randomBytes, sha256, withTimeout } from "../tunnel/helpers.ts";

const MiB = 1024 * 1024;
const ignore = webrtcUnavailable() !== null || Deno.build.os !== "linux";

/** Two connected peers; `udpReceiveBuffer` as given to both. Closes them on dispose. */
async function connectedPair(udpReceiveBuffer?: number) {
  const peers: RtcPeer[] = [];
  const make = (role: "offerer" | "answerer") =>
    new RtcPeer({
      role,
      iceServers: [],
      udpReceiveBuffer,
      sendSignal: (data) => peers[role === "offerer" ? 1 : 0].handleSignal(data),
    });
  peers.push(make("offerer"), make("answerer"));
  await peers[0].start();
  const [a, b] = await withTimeout(Promise.all(peers.map((p) => p.opened)), 10_000, "open");
  // The buffers are raised right after the open event; let that run.
  await new Promise((r) => setTimeout(r, 50));
  return {
    channels: [a, b] as [DataChannelAdapter, DataChannelAdapter],
    [Symbol.dispose]: () => peers.forEach((p) => p.close()),
  };
}

/** What SO_RCVBUF reports for a request of `bytes` here: doubled, capped by rmem_max unless root. */
async function expectedBuffer(bytes: number): Promise<number> {
  if (Deno.uid() === 0) return 2 * bytes;
  const rmemMax = Number(await Deno.readTextFile("/proc/sys/net/core/rmem_max"));
  return 2 * Math.min(bytes, rmemMax);
}

Deno.test({
  name: "once a connection is up, its UDP sockets have the receive buffer asked for",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    using _pair = await connectedPair(2 * MiB);
    // Nothing left to raise: every UDP socket of this process already has it.
    const again = await raiseUdpReceiveBuffers(2 * MiB);
    assertEquals(again.raised, 0);
    assert(again.minBytes! >= await expectedBuffer(2 * MiB), `min ${again.minBytes}`);
  },
});

Deno.test({
  name: "udpReceiveBuffer 0 leaves libwebrtc's sockets at the kernel default",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    using _pair = await connectedPair(0);
    const rmemDefault = Number(await Deno.readTextFile("/proc/sys/net/core/rmem_default"));
    // rmem_default is the kernel's own figure; a request of half reads back as it (doubled).
    const now = await raiseUdpReceiveBuffers(rmemDefault / 2);
    assertEquals(now.raised, 0);
    assertEquals(now.minBytes, rmemDefault);
  },
});

Deno.test({
  name: "a tunnel stream over the DataChannel carries 32 MB one way and 8 MB back byte-exact",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    using pair = await connectedPair();
    const [guest, host] = pair.channels.map((c) => new Mux(c));
    const down = randomBytes(mulberry32(8), 32 * MiB);
    const up = randomBytes(mulberry32(9), 8 * MiB);
    const collect = (s: import("../../lib/tunnel/mod.ts").TunnelStream) =>
      new Promise<Uint8Array[]>((resolve) => {
        const got: Uint8Array[] = [];
        s.ondata = (c) => {
          got.push(c.slice());
          s.consume(c.byteLength);
        };
        s.onend = () => resolve(got);
      });
    let hostGot: Promise<Uint8Array[]> = Promise.resolve([]);
    host.onstream = (s) => {
      hostGot = collect(s);
      for (let i = 0; i < down.byteLength; i += 100_000) s.write(down.subarray(i, i + 100_000));
      s.end();
    };
    const stream = guest.openStream();
    const guestGot = collect(stream);
    for (let i = 0; i < up.byteLength; i += 70_000) stream.write(up.subarray(i, i + 70_000));
    stream.end();
    const received = await withTimeout(guestGot, 60_000, "download");
    assertEquals(sha256(...received), sha256(down));
    assertEquals(sha256(...await withTimeout(hostGot, 60_000, "upload")), sha256(up));
    guest.close();
    host.close();
  },
});

Deno.test({
  name: "an error thrown by a message handler ends the process as an uncaught error, not an abort",
  ignore,
  fn: async () => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../fixtures/throwing_channel.ts", import.meta.url).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 1, stderr);
    assert(stderr.includes("the handler failed on purpose"), stderr);
  },
});
