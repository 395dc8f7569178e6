/**
 * The tunnel across real NATs: the relay on the lab's internet, the host and the
 * guest each behind its own Linux router (netns.ts). Root only; CI runs as root.
 */
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
  startRelay,
} from "../_util/tun.ts";

const MB = 1024 * 1024;

Deno.test({
  name:
    "peers behind two port-restricted NATs punch through to a server-reflexive pair and move 64 MB intact",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using lab = await createLab({
      sites: { host: "port-restricted", guest: "port-restricted" },
    });
    const blob = await randomFile(64 * MB);
    try {
      const hostSite = lab.site("host");
      const guestSite = lab.site("guest");
      const relay = await startRelay(lab.internet.ns, lab.internet.ip);
      await using _relay = relay.proc;
      const app = await startApp(hostSite.ns, blob.dir);
      await using _app = app.proc;
      const host = await startHost(hostSite.ns, app.info.port, ["--relay", relay.info.url]);
      await using _host = host.proc;

      const guest = await startGuest(guestSite.ns, host.info.code, ["--relay", relay.info.url]);
      await using _guest = guest.proc;
      const reflexive = ["srflx", "prflx"];
      assertEquals(guest.info.path, "direct");
      assert(
        reflexive.includes(String(guest.info.local_candidate)) &&
          reflexive.includes(String(guest.info.remote_candidate)),
        `expected a server-reflexive pair, got ${guest.info.local_candidate} ↔ ${guest.info.remote_candidate}`,
      );
      const hostPath = await nextEvent(host.proc, "path");
      assertEquals(hostPath.path, "direct");
      // The host sees the guest at its router's public address, not its private one.
      assert(
        String(hostPath.remote_address).startsWith(`${guestSite.publicIp}:`),
        `host sees ${hostPath.remote_address}, guest's NAT is ${guestSite.publicIp}`,
      );

      const down = await client(guestSite.ns, ["download", String(guest.info.port), blob.name]);
      assertEquals(down.bytes, 64 * MB);
      assertEquals(down.sha256, blob.sha256);
      console.log(
        `  p2p-join start → ready: ${guest.info.wall_ms} ms (process start included), ` +
          `${guest.info.elapsed_ms} ms inside tun; rtt ${guest.info.rtt_ms} ms; ` +
          `64 MB in ${Math.round(Number(down.ms))} ms`,
      );
    } finally {
      await Deno.remove(blob.dir, { recursive: true });
    }
  },
});
