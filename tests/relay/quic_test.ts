/**
 * The relay's QUIC listener (relay/quic.ts) with real peer endpoints
 * (lib/quic/peer_endpoint.ts) on 127.0.0.1: it reports the address it
 * observes, splices streams only between the two peers of a pair, in both
 * directions with FIN carried, and lets go of a pair whose guest left. Also
 * the peers' simultaneous open from those same endpoints. Needs --unstable-net.
 */
import { assert, assertEquals, assertRejects } from "../_util/assert.ts";
import { startRelay } from "../../relay/mod.ts";
import { type Message, SignalClient } from "../../lib/signal/mod.ts";
import { hasQuic } from "../../lib/runtime/mod.ts";
import { PeerEndpoint } from "../../lib/quic/peer_endpoint.ts";
import { RelayRefusedError } from "../../lib/quic/relay_client.ts";
import type { ByteStream } from "../../lib/tunnel/web_streams.ts";

const ignore = !hasQuic();

async function withRelay(fn: (url: string) => Promise<void>) {
  const relay = await startRelay({ hostname: "127.0.0.1", port: 0, stunPort: 0, quicPort: 0 });
  try {
    assert(relay.quicPort !== null && relay.quicPort > 0);
    await fn(`http://127.0.0.1:${relay.port}`);
  } finally {
    await relay.close();
  }
}

/** A host and a guest in one session, each with its pair token and a QUIC endpoint. */
async function session(url: string) {
  const host = await SignalClient.connect({ relayUrl: url });
  host.send({ t: "host" });
  const hosted = await host.next(["hosted"]) as Extract<Message, { t: "hosted" }>;
  const guest = await SignalClient.connect({ relayUrl: url });
  const notice = host.next(["guest"]);
  guest.send({ t: "join", name: hosted.name });
  const joined = await guest.next(["joined"]) as Extract<Message, { t: "joined" }>;
  const seen = await notice as Extract<Message, { t: "guest" }>;
  assert(host.welcome.quic && joined.quic_token && seen.quic_token, "tokens and listener");
  const open = () => PeerEndpoint.open({ relayHost: "127.0.0.1", relay: host.welcome.quic! });
  const [hostEnd, guestEnd] = await Promise.all([open(), open()]);
  return {
    host,
    guest,
    hostEnd,
    guestEnd,
    hostToken: seen.quic_token!,
    guestToken: joined.quic_token!,
    async [Symbol.asyncDispose]() {
      hostEnd.close();
      guestEnd.close();
      await Promise.all([host.close(), guest.close()]);
    },
  };
}

async function readText(readable: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of readable) text += new TextDecoder().decode(chunk);
  return text;
}

async function send(stream: ByteStream, text: string) {
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
}

Deno.test({
  name: "a peer endpoint learns the address the relay observes for its own UDP port",
  ignore,
  fn: () =>
    withRelay(async (url) => {
      await using s = await session(url);
      assertEquals(s.hostEnd.observed, { address: "127.0.0.1", port: s.hostEnd.port });
      assertEquals(s.hostEnd.candidates()[0], `127.0.0.1:${s.hostEnd.port}`);
    }),
});

Deno.test({
  name: "the relay splices a guest's stream to its host both ways, FIN included",
  ignore,
  fn: () =>
    withRelay(async (url) => {
      await using s = await session(url);
      const spliced = Promise.withResolvers<{ token: Uint8Array; stream: ByteStream }>();
      s.hostEnd.relay.onspliced = (token, stream) => spliced.resolve({ token, stream });
      await s.hostEnd.relay.attach(s.hostToken);
      const up = await s.guestEnd.relay.open(s.guestToken);
      const writing = send(up, "hello host");
      const { token, stream: down } = await spliced.promise;
      assertEquals(token, s.hostToken); // the host learns which guest from its own token
      assertEquals(await readText(down.readable), "hello host");
      await writing;
      await send(down, "hello guest");
      assertEquals(await readText(up.readable), "hello guest");
    }),
});

Deno.test({
  name: "a stream with an unknown token is refused, and a left guest's pair is let go",
  ignore,
  fn: () =>
    withRelay(async (url) => {
      await using s = await session(url);
      const err = await assertRejects(
        () => s.guestEnd.relay.open(new Uint8Array(16)),
        RelayRefusedError,
      );
      assertEquals(err.message, "unknown or expired token");
      const attached = await s.hostEnd.relay.attach(s.hostToken);
      await s.guest.close();
      await attached.ended; // the relay ended the host's attachment
      await assertRejects(() => s.guestEnd.relay.open(s.guestToken), RelayRefusedError);
    }),
});

Deno.test({
  name: "two peer endpoints dial each other at once from their relay ports and both connect",
  ignore,
  fn: () =>
    withRelay(async (url) => {
      await using s = await session(url);
      const accepted = (end: PeerEndpoint) => end.incoming.getReader().read().then((r) => r.value!);
      const [ab, ba, atB, atA] = await Promise.all([
        s.guestEnd.dial(s.hostEnd.candidates()[0], s.hostEnd.certDer),
        s.hostEnd.dial(s.guestEnd.candidates()[0], s.guestEnd.certDer),
        accepted(s.hostEnd),
        accepted(s.guestEnd),
      ]);
      assertEquals(atB.remote.port, s.guestEnd.port);
      assertEquals(atA.remote.port, s.hostEnd.port);
      // A pinned certificate other than the peer's is refused.
      await assertRejects(
        () => s.guestEnd.dial(s.hostEnd.candidates()[0], s.guestEnd.certDer),
        Error,
      );
      const stream = await ab.createBidirectionalStream();
      const writing = send(stream, "over the direct path");
      const incoming = await atB.incomingBidirectionalStreams.getReader().read();
      assertEquals(await readText(incoming.value!.readable), "over the direct path");
      await writing;
      for (const c of [ab, ba, atA, atB]) c.close();
    }),
});
