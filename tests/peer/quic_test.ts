/**
 * The QUIC data plane's two sides (lib/peer/quic_guest.ts, quic_host.ts) on
 * 127.0.0.1 with a real relay, its QUIC listener and real PAKE runs between
 * them: the guest's port reaches a TCP echo server at the host directly and
 * through the relay's splice, byte-identical with half-close; a wrong join
 * code connects neither way. Needs --unstable-net.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { startRelay } from "../../relay/mod.ts";
import { type Message, SignalClient, type SignalData } from "../../lib/signal/mod.ts";
import { hasQuic } from "../../lib/runtime/mod.ts";
import { PeerAuth } from "../../lib/peer/auth.ts";
import { GuestQuic } from "../../lib/peer/quic_guest.ts";
import { HostQuic } from "../../lib/peer/quic_host.ts";
import { serveGuestPort } from "../../lib/tunnel/mod.ts";
import {
  mulberry32,
  randomBytes,
  sha256,
  startEchoServer,
  tcpExchange,
  withTimeout,
} from "../tunnel/helpers.ts";

const ignore = !hasQuic();
const MiB = 1024 * 1024;

/**
 * A relay, a session on it (for the pair tokens), an echo server for the host
 * to share, and the two PAKE ends wired to each other.
 */
async function setup(guestSecret = "QX9P4RTW") {
  const relay = await startRelay({ hostname: "127.0.0.1", port: 0, stunPort: 0, quicPort: 0 });
  const url = `http://127.0.0.1:${relay.port}`;
  const hostSig = await SignalClient.connect({ relayUrl: url });
  hostSig.send({ t: "host" });
  const hosted = await hostSig.next(["hosted"]) as Extract<Message, { t: "hosted" }>;
  const guestSig = await SignalClient.connect({ relayUrl: url });
  const notice = hostSig.next(["guest"]);
  guestSig.send({ t: "join", name: hosted.name });
  const joined = await guestSig.next(["joined"]) as Extract<Message, { t: "joined" }>;
  const seen = await notice as Extract<Message, { t: "guest" }>;
  const echo = await startEchoServer();

  const deliver = (to: () => PeerAuth) => (epoch: number, data: SignalData) =>
    queueMicrotask(() => {
      try {
        to().handle(epoch, data);
      } catch { /* a bad tag shows as a rejected bind */ }
    });
  // Each delivers to the other, which exists by the time a message is sent.
  const hostAuth: PeerAuth = new PeerAuth({
    role: "responder",
    password: "QX9P4RTW",
    sessionName: hosted.name,
    send: deliver(() => guestAuth),
  });
  const guestAuth: PeerAuth = new PeerAuth({
    role: "initiator",
    password: guestSecret,
    sessionName: hosted.name,
    send: deliver(() => hostAuth),
  });
  const quicInfo = hostSig.welcome.quic!;
  const hostQuic = new HostQuic({ targetPort: echo.port, relayHost: "127.0.0.1", relay: quicInfo });
  const guest = await GuestQuic.open({
    relayHost: "127.0.0.1",
    relay: quicInfo,
    peer: joined.peer,
    token: joined.quic_token!,
    auth: guestAuth,
  });
  const offer = guest.offer() as Extract<SignalData, { kind: "quic" }>;
  const hostGuest = await hostQuic.guest(seen.peer, offer, hostAuth, seen.quic_token!);
  guestAuth.start();
  const guestAuthed = guest.answer(hostGuest.answer as Extract<SignalData, { kind: "quic" }>);
  guestAuthed.catch(() => {});
  hostGuest.authed.catch(() => {});
  return {
    guest,
    hostGuest,
    guestAuthed,
    async [Symbol.asyncDispose]() {
      guest.close();
      hostQuic.close();
      await echo.close();
      await Promise.all([hostSig.close(), guestSig.close()]);
      await relay.close();
    },
  };
}

Deno.test({
  name: "a QUIC guest reaches the host's port directly: 16 MiB echoed intact, both sides agree",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using s = await setup();
    const hostPath = new Promise((resolve) => s.hostGuest.onpath = resolve);
    const direct = await withTimeout(s.guest.direct, 10_000, "direct path");
    assert(direct.remote.startsWith("127.0.0.1:"), direct.remote);
    assertEquals((await hostPath as { path: string }).path, "direct");
    await using port = await serveGuestPort(direct.link);
    const data = randomBytes(mulberry32(3), 16 * MiB);
    const [big, ...small] = await Promise.all([
      tcpExchange(port.port, data),
      ...Array.from({ length: 20 }, (_, i) => tcpExchange(port.port, new Uint8Array(i + 1))),
    ]);
    assertEquals(big.gotEnd, true);
    assertEquals(sha256(big.received), sha256(data));
    small.forEach((r, i) => assertEquals(r.received.byteLength, i + 1));
    assert(s.hostGuest.bytesReceived >= 16 * MiB && s.guest.counters.bytesSent >= 16 * MiB);
  },
});

Deno.test({
  name: "in relay mode the relay splices sealed streams: 4 MiB echoed intact",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using s = await setup();
    await s.guestAuthed;
    const link = s.guest.relayLink();
    assert(link);
    s.hostGuest.relayMode();
    assertEquals(s.hostGuest.path?.path, "relay");
    await using port = await serveGuestPort(link);
    const data = randomBytes(mulberry32(4), 4 * MiB);
    const r = await withTimeout(tcpExchange(port.port, data), 20_000, "relay echo");
    assertEquals(r.gotEnd, true);
    assertEquals(sha256(r.received), sha256(data));
  },
});

Deno.test({
  name: "with a wrong join code neither side's confirmation verifies and no path opens",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using s = await setup("WRONG000");
    const outcome = await Promise.race([
      s.guestAuthed.then(() => "authed", () => "refused"),
      s.guest.direct.then(() => "direct"),
    ]);
    assertEquals(outcome, "refused");
    assertEquals(await s.hostGuest.authed.then(() => "authed", () => "refused"), "refused");
  },
});
