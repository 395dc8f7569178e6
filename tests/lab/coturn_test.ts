/**
 * External TURN: `tun relay --turn-url turn:HOST:PORT --turn-secret S` hands
 * peers TURN REST credentials for a real coturn (Debian's `coturn` package,
 * `use-auth-secret`), and two peers that cannot connect directly (both behind
 * symmetric NATs) relay through coturn instead of the built-in server.
 */
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import { createLab } from "./netns.ts";
import {
  client,
  isRoot,
  nextEvent,
  randomFile,
  startApp,
  startGuest,
  startHost,
  TUN,
} from "../_util/tun.ts";

Deno.test({
  name: "with an external coturn, peers behind two symmetric NATs relay through coturn",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using lab = await createLab({ sites: { host: "symmetric", guest: "symmetric" } });
    const blob = await randomFile(4 * 1024 * 1024);
    const work = await Deno.makeTempDir({ prefix: "tun-coturn-" });
    try {
      const ip = lab.internet.ip;
      const secret = "coturn-shared-secret";
      const turnPort = 3478;
      // The exact coturn command: REST API credentials, UDP/TCP only, no CLI.
      const coturn = lab.spawn(lab.internet.ns, [
        "turnserver",
        "-n",
        "--use-auth-secret",
        `--static-auth-secret=${secret}`,
        "--realm=tun.test",
        `--listening-ip=${ip}`,
        `--listening-port=${turnPort}`,
        `--relay-ip=${ip}`,
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--simple-log",
        "--verbose",
        `--log-file=${path.join(work, "turn.log")}`,
        `--pidfile=${path.join(work, "turn.pid")}`,
      ]);
      await using _coturn = coturn;

      const relay = lab.spawn(lab.internet.ns, [
        ...TUN,
        "relay",
        "--listen",
        `${ip}:0`,
        "--stun-port",
        "0",
        "--turn-url",
        `turn:${ip}:${turnPort}`,
        "--turn-secret",
        secret,
        "--json",
      ]);
      await using _relay = relay;
      const listening = await nextEvent(relay, "listening");
      assertEquals(listening.turn, `turn:${ip}:${turnPort}`);
      const relayUrl = `http://${ip}:${listening.port}`;

      const app = await startApp(lab.site("host").ns, blob.dir);
      await using _app = app.proc;
      const host = await startHost(lab.site("host").ns, app.info.port, ["--relay", relayUrl]);
      await using _host = host.proc;
      const guest = await startGuest(lab.site("guest").ns, host.info.code, ["--relay", relayUrl]);
      await using _guest = guest.proc;

      assertEquals(guest.info.path, "relay");
      assertEquals(guest.info.local_candidate, "relay");
      const hostPath = await nextEvent(host.proc, "path");
      // The host's remote candidate is the guest's allocation on coturn.
      assertEquals(hostPath.path, "relay");
      assert(
        String(hostPath.remote_address).startsWith(`${ip}:`),
        `relayed through ${hostPath.remote_address}`,
      );
      const down = await client(lab.site("guest").ns, [
        "download",
        String(guest.info.port),
        blob.name,
      ]);
      assertEquals(down.sha256, blob.sha256);
      // coturn really carried it: its log shows allocations for the REST usernames.
      const log = await Deno.readTextFile(path.join(work, "turn.log")).catch(() => "");
      assert(
        /ALLOCATE|allocation/i.test(log),
        `coturn log shows no allocation:\n${log.slice(-2000)}`,
      );
    } finally {
      await Deno.remove(blob.dir, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  },
});
