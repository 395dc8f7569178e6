/**
 * End to end over loopback: the relay, the host and the guest as separate real
 * processes, all inside one private network namespace (root; CI runs as root).
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { createLoopbackNs } from "../_util/netns_lo.ts";
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
  TUN,
} from "../_util/tun.ts";
import { exec } from "../lab/process.ts";

const MB = 1024 * 1024;
const ignore = !isRoot();

Deno.test({
  name:
    "a guest reaches the host's web server: 100 parallel requests, 64 MB down, 16 MB up, byte-identical",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using net = await createLoopbackNs();
    const blob = await randomFile(64 * MB);
    const upload = await randomFile(16 * MB);
    try {
      await using app = (await startApp(net.ns, blob.dir)).proc;
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      const appPort = Number((app.lines[0].match(/\d+/) ?? ["0"])[0]);
      const host = await startHost(net.ns, appPort, ["--relay", relay.info.url]);
      await using _host = host.proc;
      assert(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(host.info.code), host.info.code);
      assert(host.info.join.includes(`p2p-join ${host.info.code} --relay ${relay.info.url}`));

      const guest = await startGuest(net.ns, host.info.code, ["--relay", relay.info.url]);
      await using _guest = guest.proc;
      assertEquals(guest.info.path, "direct");
      const port = guest.info.port;

      const par = await client(net.ns, ["parallel", String(port), "100"]);
      assertEquals(par, { ok: 100, bad: [] });

      const down = await client(net.ns, ["download", String(port), blob.name]);
      assertEquals(down.bytes, 64 * MB);
      assertEquals(down.sha256, blob.sha256);

      const up = await client(net.ns, ["upload", String(port), `${upload.dir}/${upload.name}`]);
      assertEquals(up.bytes, 16 * MB);
      assertEquals(up.sha256, upload.sha256);

      // The host saw the guest connect directly, and `tun p2p status` says so.
      const path = await nextEvent(host.proc, "path");
      assertEquals(path.path, "direct");
      await new Promise((r) => setTimeout(r, 1100)); // the host rewrites status each second
      const status = await exec(net.ns, [...TUN, "p2p", "status", host.info.code, "--json"]);
      assertEquals(status.code, 0, status.stderr);
      const st = JSON.parse(status.stdout);
      assertEquals(st.guests.length, 1);
      assertEquals(st.guests[0].path, "direct");
      assert(st.guests[0].bytes_sent >= 64 * MB, `bytes sent ${st.guests[0].bytes_sent}`);
      assert(
        st.guests[0].bytes_received >= 16 * MB,
        `bytes received ${st.guests[0].bytes_received}`,
      );
      assert(typeof st.guests[0].rtt_ms === "number");
    } finally {
      await Deno.remove(blob.dir, { recursive: true });
      await Deno.remove(upload.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "with no relay configured the host embeds one; a LAN guest finds it with no flags, and the printed command works too",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using net = await createLoopbackNs();
    const env = { TUN_DISCOVERY_PORT: String(20000 + Math.floor(Math.random() * 20000)) };
    const files = await randomFile(1 * MB);
    try {
      const app = await startApp(net.ns, files.dir);
      await using _app = app.proc;
      const host = await startHost(net.ns, app.info.port, [], env);
      await using _host = host.proc;
      assert(
        host.info.join.includes(`--relay http://${net.lanIp}:`),
        `join command names the LAN relay: ${host.info.join}`,
      );

      // Guest 1: no flags at all, found by multicast.
      const g1 = await startGuest(net.ns, host.info.code, [], env);
      await using _g1 = g1.proc;
      // Guest 2: the printed join command, with multicast answered by nobody
      // (a discovery port where no host listens).
      const printed = host.info.join.split(" ").slice(2); // drop "<cmd> p2p-join"
      const g2 = await startGuest(net.ns, printed[0], printed.slice(1), {
        TUN_DISCOVERY_PORT: "1",
      });
      await using _g2 = g2.proc;

      for (const g of [g1, g2]) {
        assertEquals(g.info.path, "direct");
        const r = await client(net.ns, ["download", String(g.info.port), files.name]).catch(
          (err) => {
            throw new Error(`${err.message}${lastWords({ guest: g.proc }, 200)}`);
          },
        );
        assertEquals(r.sha256, files.sha256);
      }
    } finally {
      await Deno.remove(files.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a guest with a code nobody hosts exits 1 with a one-line reason",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using net = await createLoopbackNs();
    const relay = await startRelay(net.ns, "127.0.0.1");
    await using _relay = relay.proc;
    const { spawnIn } = await import("../lab/process.ts");
    const { DENO, ROOT } = await import("../_util/tun.ts");
    await using g = spawnIn(net.ns, [
      DENO,
      "run",
      "-A",
      `${ROOT}/main.ts`,
      "p2p-join",
      "ZZZZ-0000-0000",
      "--relay",
      relay.info.url,
      "--json",
    ]);
    const ev = await nextEvent(g, "error");
    assert(String(ev.message).includes("no such join code"), String(ev.message));
    assertEquals((await g.exited).code, 1);
  },
});
