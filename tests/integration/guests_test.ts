/** Who may join: --max-guests and --once, as a user sees them. */
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import { createLoopbackNs } from "../_util/netns_lo.ts";
import {
  isRoot,
  nextEvent,
  startApp,
  startGuest,
  startHost,
  startRelay,
  TUN,
} from "../_util/tun.ts";
import { spawnIn } from "../lab/process.ts";

const opts = { ignore: !isRoot(), sanitizeResources: false, sanitizeOps: false };

async function refused(ns: string, code: string, relayUrl: string): Promise<string> {
  await using g = spawnIn(ns, [...TUN, "p2p-join", code, "--relay", relayUrl, "--json"]);
  const ev = await nextEvent(g, "error");
  assertEquals((await g.exited).code, 1);
  return String(ev.message);
}

Deno.test({
  ...opts,
  name: "--max-guests refuses guests beyond the limit and takes new ones when a seat frees up",
  fn: async () => {
    await using net = await createLoopbackNs();
    const dir = await Deno.makeTempDir({ prefix: "tun-guests-" });
    try {
      const app = await startApp(net.ns, dir);
      await using _app = app.proc;
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      const host = await startHost(net.ns, app.info.port, [
        "--relay",
        relay.info.url,
        "--max-guests",
        "1",
        "--audit-log",
        path.join(dir, "audit.jsonl"),
      ]);
      await using _host = host.proc;
      const first = await startGuest(net.ns, host.info.code, ["--relay", relay.info.url]);
      const why = await refused(net.ns, host.info.code, relay.info.url);
      assert(why.includes("at most 1 guests"), why);
      await first.proc.kill();
      await nextEvent(host.proc, "guest-left");
      const third = await startGuest(net.ns, host.info.code, ["--relay", relay.info.url]);
      await using _third = third.proc;
      assertEquals(third.info.path, "direct");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "--once lets one guest in, refuses the next, and stops the host when that guest leaves",
  fn: async () => {
    await using net = await createLoopbackNs();
    const dir = await Deno.makeTempDir({ prefix: "tun-once-" });
    try {
      const app = await startApp(net.ns, dir);
      await using _app = app.proc;
      const relay = await startRelay(net.ns, "127.0.0.1");
      await using _relay = relay.proc;
      const audit = path.join(dir, "audit.jsonl");
      const host = await startHost(net.ns, app.info.port, [
        "--relay",
        relay.info.url,
        "--once",
        "--audit-log",
        audit,
      ]);
      await using _host = host.proc;
      const first = await startGuest(net.ns, host.info.code, ["--relay", relay.info.url]);
      const why = await refused(net.ns, host.info.code, relay.info.url);
      assert(why.includes("one guest only"), why);
      await first.proc.kill();
      assertEquals((await host.proc.exited).code, 0);
      const lines = (await Deno.readTextFile(audit)).trim().split("\n").map((l) => JSON.parse(l));
      assertEquals(lines.map((l) => l.outcome).sort(), ["accepted", "rejected"]);
      const accepted = lines.find((l) => l.outcome === "accepted");
      assertEquals(accepted.path, "direct");
      assert(typeof accepted.bytes_sent === "number");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
