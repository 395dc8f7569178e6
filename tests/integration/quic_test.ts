/**
 * The QUIC data plane end to end over loopback: relay, host and guests as real
 * processes in one private network namespace (root; needs Deno's QUIC).
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { createLoopbackNs } from "../_util/netns_lo.ts";
import {
  client,
  DENO,
  isRoot,
  lastWords,
  nextEvent,
  randomFile,
  startApp,
  startGuest,
  startHost,
  startRelay,
  TUN,
} from "../_util/tun.ts";
import { exec, spawnIn } from "../lab/process.ts";
import { hasQuic } from "../../lib/runtime/mod.ts";
import { checkoutWithoutWebrtc } from "../_util/no_webrtc.ts";

const MB = 1024 * 1024;
const opts = {
  ignore: !isRoot() || !hasQuic(),
  sanitizeResources: false,
  sanitizeOps: false,
};

Deno.test({
  ...opts,
  name:
    "a --transport quic guest reaches the host directly over QUIC: 100 parallel requests, 32 MB down, 8 MB up, byte-identical",
  fn: async () => {
    await using net = await createLoopbackNs();
    const blob = await randomFile(32 * MB);
    const upload = await randomFile(8 * MB);
    try {
      await using app = (await startApp(net.ns, blob.dir)).proc;
      const appPort = Number((app.lines[0].match(/\d+/) ?? ["0"])[0]);
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      assert(relay.info.quicPort, "the relay runs a QUIC listener");
      const host = await startHost(net.ns, appPort, ["--relay", relay.info.url]);
      await using _host = host.proc;
      const guest = await startGuest(net.ns, host.info.code, [
        "--relay",
        relay.info.url,
        "--transport",
        "quic",
      ]);
      await using _guest = guest.proc;
      assertEquals([guest.info.path, guest.info.transport], ["direct", "quic"]);
      assert(typeof guest.info.rtt_ms === "number", `rtt ${guest.info.rtt_ms}`);
      const hostPath = await nextEvent(host.proc, "path");
      assertEquals([hostPath.path, hostPath.transport], ["direct", "quic"]);

      const port = String(guest.info.port);
      assertEquals(await client(net.ns, ["parallel", port, "100"]), { ok: 100, bad: [] });
      const down = await client(net.ns, ["download", port, blob.name]);
      assertEquals([down.bytes, down.sha256], [32 * MB, blob.sha256]);
      const up = await client(net.ns, ["upload", port, `${upload.dir}/${upload.name}`]);
      assertEquals([up.bytes, up.sha256], [8 * MB, upload.sha256]);
      console.log(
        `  QUIC direct: ready in ${guest.info.elapsed_ms} ms inside tun; ` +
          `32 MB down in ${Math.round(Number(down.ms))} ms`,
      );

      await new Promise((r) => setTimeout(r, 1100)); // the host rewrites status each second
      const status = await exec(net.ns, [...TUN, "p2p", "status", host.info.code, "--json"]);
      const st = JSON.parse(status.stdout);
      assertEquals(st.guests[0].path, "direct");
      assert(st.guests[0].bytes_sent >= 32 * MB, `bytes sent ${st.guests[0].bytes_sent}`);
    } finally {
      await Deno.remove(blob.dir, { recursive: true });
      await Deno.remove(upload.dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    "one host serves a WebRTC guest and a QUIC guest at once; a QUIC guest past its p2p timeout goes through the relay's splice",
  fn: async () => {
    await using net = await createLoopbackNs();
    const blob = await randomFile(8 * MB);
    try {
      await using app = (await startApp(net.ns, blob.dir)).proc;
      const appPort = Number((app.lines[0].match(/\d+/) ?? ["0"])[0]);
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      const host = await startHost(net.ns, appPort, ["--relay", relay.info.url]);
      await using _host = host.proc;
      const r = ["--relay", relay.info.url];
      const rtc = await startGuest(net.ns, host.info.code, r);
      await using _rtc = rtc.proc;
      const quic = await startGuest(net.ns, host.info.code, [...r, "--transport", "quic"]);
      await using _quic = quic.proc;
      // The direct attempt cannot finish within 1 ms: relay mode at once.
      const relayed = await startGuest(net.ns, host.info.code, [
        ...r,
        "--transport",
        "quic",
        "--p2p-timeout",
        "1ms",
      ]);
      await using _relayed = relayed.proc;
      assertEquals([rtc.info.path, rtc.info.transport], ["direct", "webrtc"]);
      assertEquals([quic.info.path, quic.info.transport], ["direct", "quic"]);
      assertEquals([relayed.info.path, relayed.info.transport], ["relay", "quic"]);

      const paths = [];
      for (let i = 0; i < 3; i++) paths.push(await nextEvent(host.proc, "path"));
      const seen = paths.map((p) => `${p.transport}/${p.path}`).sort();
      assertEquals(seen, ["quic/direct", "quic/relay", "webrtc/direct"]);

      const results = await Promise.all(
        [rtc, quic, relayed].map((g) =>
          client(net.ns, ["download", String(g.info.port), blob.name])
        ),
      );
      for (const d of results) assertEquals([d.bytes, d.sha256], [8 * MB, blob.sha256]);
    } finally {
      await Deno.remove(blob.dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "with no relay configured, the host's embedded relay serves QUIC guests too",
  fn: async () => {
    await using net = await createLoopbackNs();
    const env = { TUN_DISCOVERY_PORT: String(20000 + Math.floor(Math.random() * 20000)) };
    const files = await randomFile(1 * MB);
    try {
      const app = await startApp(net.ns, files.dir);
      await using _app = app.proc;
      const host = await startHost(net.ns, app.info.port, [], env);
      await using _host = host.proc;
      const guest = await startGuest(net.ns, host.info.code, ["--transport", "quic"], env);
      await using _guest = guest.proc;
      assertEquals([guest.info.path, guest.info.transport], ["direct", "quic"]);
      const r = await client(net.ns, ["download", String(guest.info.port), files.name]);
      assertEquals(r.sha256, files.sha256);
    } finally {
      await Deno.remove(files.dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "a QUIC guest with a wrong code is refused at both ends and exits 1",
  fn: async () => {
    await using net = await createLoopbackNs();
    const relay = await startRelay(net.ns, "127.0.0.1");
    await using _relay = relay.proc;
    const host = await startHost(net.ns, 9, ["--relay", relay.info.url]);
    await using _host = host.proc;
    const [name, secret, rest] = host.info.code.split("-");
    const bad = `${name}-${secret[0] === "0" ? "1" : "0"}${secret.slice(1)}-${rest}`;
    await using g = spawnIn(net.ns, [
      ...TUN,
      "p2p-join",
      bad,
      "--relay",
      relay.info.url,
      "--transport",
      "quic",
      "--json",
    ]);
    const ev = await nextEvent(g, "error");
    assert(/wrong join code|authentication failed/.test(String(ev.message)), String(ev.message));
    assertEquals((await g.exited).code, 1);
    const rejected = await nextEvent(host.proc, "guest-rejected");
    assert(/wrong join code/.test(String(rejected.reason)), String(rejected.reason));
  },
});

Deno.test({
  ...opts,
  name:
    "where @roamhq/wrtc cannot load, host and guest use QUIC on their own, and a WebRTC guest is told to use QUIC",
  fn: async () => {
    await using net = await createLoopbackNs();
    await using copy = await checkoutWithoutWebrtc();
    const files = await randomFile(1 * MB);
    try {
      const app = await startApp(net.ns, files.dir);
      await using _app = app.proc;
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      await using host = spawnIn(net.ns, [
        ...copy.tun,
        "p2p",
        String(app.info.port),
        "--relay",
        relay.info.url,
        "--json",
      ]);
      const code = String((await nextEvent(host, "code")).code);
      await using guest = spawnIn(net.ns, [
        ...copy.tun,
        "p2p-join",
        code,
        "--relay",
        relay.info.url,
        "--json",
      ]);
      const ready = await nextEvent(guest, "ready");
      assertEquals([ready.path, ready.transport], ["direct", "quic"]);
      const r = await client(net.ns, ["download", String(ready.port), files.name]);
      assertEquals(r.sha256, files.sha256);

      // A guest that can only speak WebRTC learns why it cannot join.
      await using rtcGuest = spawnIn(net.ns, [
        ...TUN,
        "p2p-join",
        code,
        "--relay",
        relay.info.url,
        "--json",
      ]);
      const err = await nextEvent(rtcGuest, "error");
      assert(
        /--transport quic/.test(String(err.message)),
        `${err.message}${lastWords({ host }, 200)}`,
      );
      assertEquals((await rtcGuest.exited).code, 1);
    } finally {
      await Deno.remove(files.dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    "over QUIC a server that speaks first (as SSH and SMTP do) is heard before the client says anything",
  fn: async () => {
    await using net = await createLoopbackNs();
    // A banner server: greets each connection, then echoes.
    const banner = spawnIn(net.ns, [
      DENO,
      "eval",
      `const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
       console.log(JSON.stringify({ port: l.addr.port }));
       for await (const c of l) {
         (async () => {
           await c.write(new TextEncoder().encode("220 banner from the server\\n"));
           await c.readable.pipeTo(c.writable).catch(() => {});
         })();
       }`,
    ]);
    await using _banner = banner;
    const port = Number((await banner.waitForLine(/^\{"port":(\d+)\}$/))[1]);
    const relay = await startRelay(net.ns, "127.0.0.1");
    await using _relay = relay.proc;
    const host = await startHost(net.ns, port, ["--relay", relay.info.url]);
    await using _host = host.proc;
    const guest = await startGuest(net.ns, host.info.code, [
      "--relay",
      relay.info.url,
      "--transport",
      "quic",
    ]);
    await using _guest = guest.proc;
    // The client only listens; it must not need to send first.
    const r = await exec(net.ns, [
      DENO,
      "eval",
      `const c = await Deno.connect({ hostname: "127.0.0.1", port: ${guest.info.port} });
       const buf = new Uint8Array(100);
       const n = await c.read(buf);
       console.log(new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim());`,
    ], { timeoutMs: 10_000 });
    assertEquals(r.stdout.trim(), "220 banner from the server");
  },
});
