/**
 * The relay introduces the peers once: with the relay gone, connected peers
 * keep working. But the relay also goes when a peer's process or machine
 * does, and then the other peer must not hang on a dead tunnel until
 * libwebrtc gives up (~16 s) or QUIC's idle timeout runs out (15 s): it asks
 * the peer itself with one ping, and ends with a reason when none answers.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { createLoopbackNs } from "../_util/netns_lo.ts";
import { exec, type LabProcess } from "../lab/process.ts";
import {
  client,
  isRoot,
  lastWords,
  nextEvent,
  randomFile,
  startApp,
  startGuest,
  startHost,
  startRelay,
} from "../_util/tun.ts";

const opts = { ignore: !isRoot(), sanitizeResources: false, sanitizeOps: false };
const MB = 1024 * 1024;

/** In `ns`: the app serving `dir`, a relay, a host sharing the app, and a guest joined to it. */
async function connectedPair(ns: string, dir: string, transport: string) {
  const procs: LabProcess[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) await p[Symbol.asyncDispose]();
  };
  try {
    const app = await startApp(ns, dir);
    procs.push(app.proc);
    const relay = await startRelay(ns, "127.0.0.1");
    procs.push(relay.proc);
    const host = await startHost(ns, app.info.port, ["--relay", relay.info.url]);
    procs.push(host.proc);
    const args = ["--relay", relay.info.url, "--transport", transport];
    const guest = await startGuest(ns, host.info.code, args);
    procs.push(guest.proc);
    // The guest is ready once the host has proved itself; the host takes the
    // guest once the guest's proof has come through the relay. Both, first.
    await nextEvent(host.proc, "path");
    const said = () => lastWords({ guest: guest.proc, host: host.proc });
    return { relay: relay.proc, host: host.proc, guest, said, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

for (const transport of ["webrtc", "quic"]) {
  Deno.test({
    ...opts,
    name: `${transport}: with the relay gone, a connected guest says so and keeps working`,
    fn: async () => {
      await using net = await createLoopbackNs();
      const blob = await randomFile(4 * MB);
      try {
        await using pair = await connectedPair(net.ns, blob.dir, transport);
        const { guest: g, said } = pair;
        assertEquals(g.info.path, "direct");

        await pair.relay.kill("SIGKILL");
        const lost = await nextEvent(g.proc, "relay-lost");
        assert(String(lost.reason).length > 0, `no reason${said()}`);
        await nextEvent(pair.host, "relay-lost");
        // New connections still reach the app, byte for byte.
        const down = await client(net.ns, ["download", String(g.info.port), blob.name]).catch(
          (err: Error) => {
            throw new Error(`${err.message}${said()}`);
          },
        );
        assertEquals(down.sha256, blob.sha256, said());
        assert(!g.proc.lines.some((l) => l.includes('"event":"error"')), said());
      } finally {
        await Deno.remove(blob.dir, { recursive: true });
      }
    },
  });

  Deno.test({
    ...opts,
    name:
      `${transport}: a guest whose host is killed ends with a reason, and so does a host whose guest is`,
    fn: async () => {
      await using net = await createLoopbackNs();
      const dir = await Deno.makeTempDir({ prefix: "tun-gone-" });
      try {
        const app = await startApp(net.ns, dir);
        await using _app = app.proc;
        const relay = await startRelay(net.ns, "127.0.0.1");
        await using _relay = relay.proc;
        const args = ["--relay", relay.info.url, "--transport", transport];

        // The host goes: the guest learns it from the relay and checks.
        const host = await startHost(net.ns, app.info.port, ["--relay", relay.info.url]);
        await using _host = host.proc;
        const g = await startGuest(net.ns, host.info.code, args);
        await using _g = g.proc;
        assertEquals(g.info.path, "direct");
        const killed = performance.now();
        await host.proc.kill("SIGKILL");
        const err = await nextEvent(g.proc, "error");
        const noticed = performance.now() - killed;
        assert(
          /lost the host/.test(String(err.message)),
          `${err.message}${lastWords({ guest: g.proc })}`,
        );
        assertEquals((await g.proc.exited).code, 1);

        // The guest goes: the host ends it, with a reason, and keeps serving.
        const host2 = await startHost(net.ns, app.info.port, ["--relay", relay.info.url]);
        await using _host2 = host2.proc;
        const g2 = await startGuest(net.ns, host2.info.code, args);
        await using _g2 = g2.proc;
        await nextEvent(host2.proc, "path");
        const killed2 = performance.now();
        await g2.proc.kill("SIGKILL");
        const left = await nextEvent(host2.proc, "guest-left");
        // Figures to read, not targets (those live in scripts/bench).
        console.log(
          `  ${transport}: guest noticed its host killed in ${noticed.toFixed(0)} ms, ` +
            `host its guest in ${(performance.now() - killed2).toFixed(0)} ms`,
        );
        assert(
          /did not answer/.test(String(left.reason)),
          `${left.reason}${lastWords({ host: host2.proc })}`,
        );
        const g3 = await startGuest(net.ns, host2.info.code, args);
        await using _g3 = g3.proc;
        assertEquals(g3.info.path, "direct");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  ...opts,
  name:
    "webrtc: with the relay gone in the middle of a download on a slow link, the guest keeps the busy connection",
  fn: async () => {
    await using net = await createLoopbackNs();
    // UDP (the DataChannel) held to ~1 MB/s by dropping the rest, while the
    // app's TCP is not: the host's side of the DataChannel queues megabytes,
    // and SCTP may go seconds without delivering anything. The relay going
    // must not end such a connection (an earlier version pinged the host on
    // any loss of the relay, and reset this download).
    const slow = await exec(net.ns, [
      "iptables",
      "-A",
      "OUTPUT",
      "-p",
      "udp",
      "-m",
      "hashlimit",
      "--hashlimit-name",
      "tunslow",
      "--hashlimit-above",
      "1mb/s",
      "--hashlimit-burst",
      "1mb",
      "-j",
      "DROP",
    ]);
    assertEquals(slow.code, 0, slow.stderr);
    const blob = await randomFile(8 * MB);
    try {
      await using pair = await connectedPair(net.ns, blob.dir, "webrtc");
      const { guest: g, said } = pair;
      const download = client(net.ns, ["download", String(g.info.port), blob.name]).then(
        (r) => r,
        (err: Error) => err,
      );
      await new Promise((r) => setTimeout(r, 1500));
      await pair.relay.kill("SIGKILL");
      const down = await download;
      assert(!(down instanceof Error), `${(down as Error).message}${said()}`);
      assertEquals(down.sha256, blob.sha256, said());
      assert(g.proc.lines.some((l) => l.includes('"event":"relay-lost"')), said());
      assert(!g.proc.lines.some((l) => l.includes('"event":"error"')), said());
      console.log(`  8 MB through the slow link in ${Math.round(Number(down.ms))} ms`);
    } finally {
      await Deno.remove(blob.dir, { recursive: true });
    }
  },
});
