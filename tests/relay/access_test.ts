/**
 * `tun relay --token SECRET`: a WebSocket without a valid token in its URL is
 * refused with a reason a person can read, before the relay keeps any state
 * for it; one with a valid token works as before.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { startRelay } from "../../relay/mod.ts";
import { mintToken } from "../../lib/auth/mod.ts";
import { SignalClient } from "../../lib/signal/mod.ts";
import { rawClient, signalAt } from "./_raw.ts";
import { TUN } from "../_util/tun.ts";

const SECRET = "relay secret, long enough";

async function withTokenRelay(
  fn: (url: string, relay: Awaited<ReturnType<typeof startRelay>>, log: string[]) => Promise<void>,
) {
  const log: string[] = [];
  const relay = await startRelay({
    hostname: "127.0.0.1",
    port: 0,
    stunPort: 0,
    token: SECRET,
    log: (line) => log.push(line),
  });
  try {
    await fn(`http://127.0.0.1:${relay.port}`, relay, log);
  } finally {
    await relay.close();
  }
}

Deno.test("without a valid token the relay refuses the connection with a reason and keeps nothing", async () => {
  await withTokenRelay(async (url, relay, log) => {
    const cases: [string, string | undefined, RegExp][] = [
      ["no token", undefined, /needs an access token/],
      ["an empty token", "", /needs an access token/],
      ["an expired token", mintToken(SECRET, 60, Date.now() - 3600_000), /expired \d+ s ago/],
      [
        "another relay's token",
        mintToken("some other relay's secret", 60),
        /not signed with this relay's secret/,
      ],
      ["garbage", "x".repeat(500), /not a tun token/],
    ];
    for (const [what, token, reason] of cases) {
      const c = rawClient(signalAt(url, token));
      // The client tries to host at once; the relay must not act on it.
      c.ws.onopen = () => c.send({ t: "host" });
      const closed = await c.closed;
      assertEquals(closed.code, 1008, what);
      assert(reason.test(closed.reason), `${what}: close reason "${closed.reason}"`);
      assertEquals(c.messages.map((m) => m.t), ["error"], `${what}: only an error, no welcome`);
      const error = c.messages[0] as { message: string };
      assert(reason.test(error.message) && /--token|TUN_TOKEN/.test(error.message), error.message);
      assertEquals(relay.sessions.size, 0, what);
    }
    assertEquals(log.filter((l) => l.startsWith("refusing")).length, cases.length);
  });
});

Deno.test("SignalClient reports a refused token as a one-line reason", async () => {
  await withTokenRelay(async (url) => {
    const err = await SignalClient.connect({ relayUrl: url }).then(
      () => "connected",
      (e: Error) => e.message,
    );
    assert(/needs an access token/.test(err) && !err.includes("\n"), err);
  });
});

Deno.test("with a valid token a host and a guest meet as usual, each with its own token", async () => {
  await withTokenRelay(async (url, relay) => {
    const host = rawClient(signalAt(url, mintToken(SECRET, 60)));
    const guest = rawClient(signalAt(url, mintToken(SECRET, 60)));
    try {
      await host.next("welcome");
      host.send({ t: "host" });
      const hosted = await host.next("hosted");
      assertEquals(relay.sessions.size, 1);
      await guest.next("welcome");
      guest.send({ t: "join", name: hosted.name });
      const joined = await guest.next("joined");
      assertEquals((await host.next("guest")).peer, joined.peer);
      // TURN credentials are still handed out, and are not the token.
      assert(hosted.ice.some((s) => s.username && s.credential), JSON.stringify(hosted.ice));
    } finally {
      host.close();
      guest.close();
    }
  });
});

Deno.test("a token secret shorter than 16 bytes is refused at start", async () => {
  let message = "";
  await startRelay({ hostname: "127.0.0.1", port: 0, stunPort: 0, token: "hunter2" }).then(
    (r) => r.close(),
    (e: Error) => message = e.message,
  );
  assert(/at least 16 bytes/.test(message), message);
});

Deno.test("tun relay --token (or TUN_RELAY_TOKEN) turns token checks on; a short secret is a usage error", async () => {
  const short = await new Deno.Command(TUN[0], {
    args: [...TUN.slice(1), "relay", "--token", "hunter2", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(short.code, 2);
  const event = JSON.parse(new TextDecoder().decode(short.stdout).trim());
  assert(/--token: .*at least 16 bytes/.test(event.message), event.message);

  const child = new Deno.Command(TUN[0], {
    args: [
      ...TUN.slice(1),
      "relay",
      "--listen",
      "127.0.0.1:0",
      "--stun-port",
      "0",
      "--quic-port",
      "0",
      "--json",
    ],
    env: { TUN_RELAY_TOKEN: SECRET },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    reader.releaseLock();
    const listening = JSON.parse(text.split("\n")[0]);
    assertEquals([listening.event, listening.token_required], ["listening", true]);
    const url = `http://127.0.0.1:${listening.port}`;
    const refused = rawClient(signalAt(url));
    assertEquals((await refused.closed).code, 1008);
    const welcomed = rawClient(signalAt(url, mintToken(SECRET, 60)));
    await welcomed.next("welcome");
    welcomed.close();
    await welcomed.closed;
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
});
