import { assert, assertEquals } from "../_util/assert.ts";
import { startRelay } from "../../relay/mod.ts";
import { encodeMessage, type Message, SignalClient } from "../../lib/signal/mod.ts";
import { signalUrl } from "../../lib/signal/client.ts";

async function withRelay(
  fn: (url: string) => Promise<void>,
  options: { codeTtlMs?: number } = {},
) {
  const relay = await startRelay({ hostname: "127.0.0.1", port: 0, stunPort: 0, ...options });
  try {
    await fn(`http://127.0.0.1:${relay.port}`);
  } finally {
    await relay.close();
  }
}

/** Host + guest pair through the relay; returns both clients and the session name. */
async function pair(url: string) {
  const host = await SignalClient.connect({ relayUrl: url });
  host.send({ t: "host" });
  const hosted = await host.next(["hosted"]) as Extract<Message, { t: "hosted" }>;
  const guest = await SignalClient.connect({ relayUrl: url });
  const guestNotice = host.next(["guest"]);
  guest.send({ t: "join", name: hosted.name });
  const joined = await guest.next(["joined"]) as Extract<Message, { t: "joined" }>;
  const notice = await guestNotice as Extract<Message, { t: "guest" }>;
  return {
    host,
    guest,
    name: hosted.name,
    peer: joined.peer,
    notice,
    hostIce: hosted.ice,
    guestIce: joined.ice,
  };
}

/** A raw WebSocket that records the relay's messages and how it was closed. */
function rawClient(url: string) {
  const ws = new WebSocket(signalUrl(url));
  ws.binaryType = "arraybuffer";
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (ev) => resolve({ code: ev.code, reason: ev.reason });
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("ws error"));
  });
  return { ws, opened, closed };
}

Deno.test("the relay pairs a guest with its host and forwards signalling both ways", async () => {
  await withRelay(async (url) => {
    const { host, guest, peer, notice, hostIce, guestIce } = await pair(url);
    try {
      assertEquals(notice.peer, peer);
      assertEquals(notice.addr.address, "127.0.0.1");
      assertEquals(host.welcome.addr.address, "127.0.0.1");
      assert(host.welcome.stun_port > 0);
      // Both peers learn the relay's STUN server under the host they used to reach it.
      const stun = `stun:127.0.0.1:${host.welcome.stun_port}`;
      assertEquals(hostIce[0].urls, [stun]);
      assertEquals(guestIce[0].urls, [stun]);
      const atHost = host.next(["signal"]);
      guest.send({ t: "signal", peer: 0, epoch: 0, data: { kind: "offer", sdp: "v=0 offer" } });
      assertEquals(await atHost, {
        t: "signal",
        peer,
        epoch: 0,
        data: { kind: "offer", sdp: "v=0 offer" },
      });
      const atGuest = guest.next(["signal"]);
      host.send({ t: "signal", peer, epoch: 0, data: { kind: "answer", sdp: "v=0 answer" } });
      assertEquals(await atGuest, {
        t: "signal",
        peer: 0,
        epoch: 0,
        data: { kind: "answer", sdp: "v=0 answer" },
      });
      const bye = host.next(["bye"]);
      guest.close();
      assertEquals((await bye as Extract<Message, { t: "bye" }>).peer, peer);
    } finally {
      host.close();
      guest.close();
    }
  });
});

Deno.test("when the host leaves, its guests are told and its code stops working", async () => {
  await withRelay(async (url) => {
    const { host, guest, name } = await pair(url);
    const guestClosed = new Promise<string>((resolve) => guest.onclose = resolve);
    host.close();
    assertEquals(await guestClosed, "the host has left");
    const late = await SignalClient.connect({ relayUrl: url });
    late.send({ t: "join", name });
    const err = await late.next(["joined"]).catch((e: Error) => e.message);
    assert(String(err).includes("no such join code"), String(err));
    late.close();
  });
});

Deno.test("joining a code that does not exist is refused with a reason", async () => {
  await withRelay(async (url) => {
    const c = await SignalClient.connect({ relayUrl: url });
    c.send({ t: "join", name: "ZZZZ" });
    const err = await c.next(["joined"]).catch((e: Error) => e.message);
    assert(String(err).includes("no such join code"), String(err));
    c.close();
  });
});

Deno.test("a code no guest uses expires and its host is told why", async () => {
  await withRelay(async (url) => {
    const host = await SignalClient.connect({ relayUrl: url });
    const closed = new Promise<string>((resolve) => host.onclose = resolve);
    host.send({ t: "host" });
    await host.next(["hosted"]);
    assertEquals(await closed, "join code expired unused");
  }, { codeTtlMs: 300 });
});

Deno.test("bad messages close only the sender's connection, with a reason", async () => {
  await withRelay(async (url) => {
    const { host, guest, peer } = await pair(url);
    try {
      const bad: [string, (ws: WebSocket) => void, RegExp][] = [
        ["garbage bytes", (ws) => ws.send(new Uint8Array([0xff, 0x00, 0x13])), /not valid CBOR/],
        ["a text frame", (ws) => ws.send("hello"), /text frames/],
        [
          "an unknown type",
          (ws) => ws.send(new Uint8Array([0xa2, 0x61, 0x76, 0x01, 0x61, 0x74, 0x61, 0x78])),
          /unknown message type/,
        ],
        ["an oversized message", (ws) => ws.send(new Uint8Array(200_000)), /too big/],
        [
          "a reply-only message",
          (ws) => ws.send(encodeMessage({ t: "joined", peer: 1, ice: [] })),
          /unexpected message/,
        ],
        [
          "signal before join",
          (ws) =>
            ws.send(
              encodeMessage({
                t: "signal",
                peer: 1,
                epoch: 0,
                data: { kind: "end-of-candidates" },
              }),
            ),
          /signal before/,
        ],
      ];
      for (const [what, send, reason] of bad) {
        const c = rawClient(url);
        await c.opened;
        send(c.ws);
        const { code, reason: got } = await c.closed;
        assert(code === 1008 || code === 1009, `${what}: close code ${code}`);
        assert(reason.test(got), `${what}: reason "${got}"`);
      }
      // The existing session is unaffected.
      const atHost = host.next(["signal"]);
      guest.send({ t: "signal", peer: 0, epoch: 0, data: { kind: "end-of-candidates" } });
      assertEquals(await atHost, {
        t: "signal",
        peer,
        epoch: 0,
        data: { kind: "end-of-candidates" },
      });
    } finally {
      host.close();
      guest.close();
    }
  });
});
