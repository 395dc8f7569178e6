/**
 * The join code authenticates the peers end to end: the relay never sees its
 * secret part, a wrong code is refused, and a relay that swaps DTLS
 * fingerprints is caught by both peers before any tunnel byte flows.
 */
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import { createLoopbackNs } from "../_util/netns_lo.ts";
import {
  DENO,
  isRoot,
  lastWords,
  nextEvent,
  ROOT,
  startApp,
  startHost,
  startRelay,
  TUN,
} from "../_util/tun.ts";
import { spawnIn } from "../lab/process.ts";

const ignore = !isRoot();
const opts = { ignore, sanitizeResources: false, sanitizeOps: false };

function guest(ns: string, code: string, relayUrl: string) {
  return spawnIn(ns, [...TUN, "p2p-join", code, "--relay", relayUrl, "--json"]);
}

/** The test-double relay in front of `relayUrl`: tampering, or passing SDP through. */
async function startMitm(ns: string, relayUrl: string, mode: "tamper" | "passthrough") {
  const proc = spawnIn(ns, [
    DENO,
    "run",
    "-A",
    path.join(ROOT, "tests/fixtures/mitm_relay.ts"),
    relayUrl,
    ...(mode === "passthrough" ? ["passthrough"] : []),
  ]);
  const m = await proc.waitForLine(/^\{"port":(\d+)\}$/, 15_000);
  return { proc, url: `http://127.0.0.1:${m[1]}` };
}

/** The same session name with another secret: a guest who mistyped or guessed. */
function wrongCode(code: string): string {
  const [name, a, b] = code.split("-");
  const flip = (c: string) => (c === "0" ? "1" : "0");
  return `${name}-${flip(a[0])}${a.slice(1)}-${b}`;
}

Deno.test({
  ...opts,
  name: "a wrong code is refused with a clear error, logged, and three of them retire the code",
  fn: async () => {
    await using net = await createLoopbackNs();
    const dir = await Deno.makeTempDir({ prefix: "tun-auth-" });
    try {
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      const auditLog = path.join(dir, "audit.jsonl");
      const host = await startHost(net.ns, 9, ["--relay", relay.info.url, "--audit-log", auditLog]);
      await using _host = host.proc;
      const bad = wrongCode(host.info.code);
      for (let i = 1; i <= 3; i++) {
        await using g = guest(net.ns, bad, relay.info.url);
        const ev = await nextEvent(g, "error");
        assert(
          /wrong join code|authentication failed/.test(String(ev.message)),
          `attempt ${i}: ${ev.message}`,
        );
        assertEquals((await g.exited).code, 1);
        const rejected = await nextEvent(host.proc, "guest-rejected");
        assert(
          /wrong join code|did not authenticate/.test(String(rejected.reason)),
          String(rejected.reason),
        );
      }
      await nextEvent(host.proc, "code-retired");
      // No guest connected: the host stops with an error naming the reason.
      const err = await nextEvent(host.proc, "error");
      assert(String(err.message).includes("retired"), String(err.message));
      assertEquals((await host.proc.exited).code, 1);
      const lines = (await Deno.readTextFile(auditLog)).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert(lines.length >= 3, `audit log has ${lines.length} lines`);
      for (const l of lines.slice(0, 3)) {
        assertEquals(l.outcome, "rejected");
        assertEquals(l.session, host.info.code.slice(0, 4));
        assert(l.peer_address && l.time && l.reason, JSON.stringify(l));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "a relay that swaps DTLS fingerprints is caught by both peers and no tunnel byte flows",
  fn: async () => {
    await using net = await createLoopbackNs();
    const dir = await Deno.makeTempDir({ prefix: "tun-mitm-" });
    try {
      await Deno.writeTextFile(path.join(dir, "secret.txt"), "not for the relay");
      const app = await startApp(net.ns, dir);
      await using _app = app.proc;
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      const { proc: mitm, url: evil } = await startMitm(net.ns, relay.info.url, "tamper");
      await using _mitm = mitm;
      const host = await startHost(net.ns, app.info.port, [
        "--relay",
        evil,
        "--audit-log",
        path.join(dir, "audit.jsonl"),
      ]);
      await using _host = host.proc;
      await using g = guest(net.ns, host.info.code, evil);
      const said = () => lastWords({ guest: g, host: host.proc, mitm, relay: relay.proc }, 60);
      const ev = await nextEvent(g, "error");
      assert(/tampered|wrong join code/.test(String(ev.message)), `${ev.message}${said()}`);
      assertEquals((await g.exited).code, 1);
      const rejected = await nextEvent(host.proc, "guest-rejected");
      assert(/tampered/.test(String(rejected.reason)), `${rejected.reason}${said()}`);
      // The hostile relay really did swap fingerprints, and the guest never got ready.
      assert(/swapped the fingerprint/.test(mitm.stderr), mitm.stderr);
      assert(!g.lines.some((l) => l.includes('"event":"ready"')), g.lines.join("\n"));
      // Nothing reached the app behind the host.
      assert(!app.proc.lines.some((l) => l.includes('"request"')), app.proc.lines.join("\n"));

      // Control: the same relay in front, passing SDP unchanged, works.
      const { proc: honest, url: honestUrl } = await startMitm(
        net.ns,
        relay.info.url,
        "passthrough",
      );
      await using _honest = honest;
      const host2 = await startHost(net.ns, app.info.port, [
        "--relay",
        honestUrl,
        "--audit-log",
        path.join(dir, "audit.jsonl"),
      ]);
      await using _host2 = host2.proc;
      await using g2 = guest(net.ns, host2.info.code, honestUrl);
      const ready = await nextEvent(g2, "ready");
      assertEquals(ready.path, "direct");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    "a relay started with --token refuses peers without it, with a reason, and admits those with it",
  fn: async () => {
    await using net = await createLoopbackNs();
    const dir = await Deno.makeTempDir({ prefix: "tun-token-" });
    try {
      const secret = "relay-access-secret-0123456789";
      await using relay = spawnIn(net.ns, [
        ...TUN,
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--stun-port",
        "0",
        "--token",
        secret,
        "--json",
      ]);
      const listening = await nextEvent(relay, "listening");
      const url = `http://127.0.0.1:${listening.port}`;
      const audit = ["--audit-log", path.join(dir, "audit.jsonl")];

      await using refused = spawnIn(net.ns, [
        ...TUN,
        "p2p",
        "9",
        "--relay",
        url,
        "--json",
        ...audit,
      ]);
      const err = await nextEvent(refused, "error");
      assert(/token/i.test(String(err.message)), String(err.message));
      assertEquals((await refused.exited).code, 1);

      const app = await startApp(net.ns, dir);
      await using _app = app.proc;
      const host = await startHost(net.ns, app.info.port, ["--relay", url, ...audit], {
        TUN_TOKEN: secret,
      });
      await using _host = host.proc;
      await using g = spawnIn(net.ns, [
        ...TUN,
        "p2p-join",
        host.info.code,
        "--relay",
        url,
        "--token",
        secret,
        "--json",
      ]);
      const ready = await nextEvent(g, "ready");
      assertEquals(ready.path, "direct");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
