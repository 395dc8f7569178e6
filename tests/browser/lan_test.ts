/**
 * LAN mode with a browser: `tun p2p` with no relay embeds one, serving the join
 * page over HTTPS with its saved self-signed development certificate; a browser
 * on the same LAN that trusts that certificate opens the printed link and gets
 * the app over WebTransport. Root only (a private network namespace).
 */
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import { launchBrowser } from "../_util/browser.ts";
import { createLoopbackNs } from "../_util/netns_lo.ts";
import { isRoot, startHost } from "../_util/tun.ts";
import { spawnIn } from "../lab/process.ts";
import { certFromPem } from "../../lib/cert/mod.ts";
import { expectAppInPage, startWebApp } from "./_app.ts";

Deno.test({
  name:
    "with no relay configured, a browser on the LAN opens the printed link and gets the app over WebTransport",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using lan = await createLoopbackNs();
    const state = await Deno.makeTempDir({ prefix: "tun-lan-state-" });
    try {
      const app = await startWebApp((ns, cmd) => spawnIn(ns, cmd), lan.ns);
      await using _app = app.proc;
      const host = await startHost(
        lan.ns,
        app.port,
        ["--audit-log", path.join(state, "audit.jsonl")],
        { XDG_STATE_HOME: state },
      );
      await using _host = host.proc;
      const link = host.info.link;
      assert(link?.startsWith(`https://${lan.lanIp}:`), `link ${link}`);

      // The certificate the host made and saved, as a user would import it.
      const certPem = await Deno.readTextFile(path.join(state, "tun", "dev-cert.pem"));
      const cert = await certFromPem(certPem);
      assert(cert.ipAddresses.includes(lan.lanIp), `cert names ${cert.ipAddresses}`);
      assert(cert.notAfter.getTime() - Date.now() > 80 * 86400_000, "valid for about 90 days");

      await using browser = await launchBrowser({
        netns: lan.ns,
        trustSpki: [cert.spkiSha256Base64],
        mdnsHostCandidates: true,
      });
      const shownMs = await browser.withLog(() =>
        expectAppInPage({ browser, link: link!, app, host: host.proc, path: "webtransport" })
      );
      console.log(`  LAN, embedded relay, webtransport: app shown in ${shownMs} ms`);

      // A second host reuses the saved certificate: trusted once, it stays trusted.
      const again = await startHost(
        lan.ns,
        app.port,
        ["--audit-log", path.join(state, "audit.jsonl")],
        { XDG_STATE_HOME: state },
      );
      await using _again = again.proc;
      assertEquals(await Deno.readTextFile(path.join(state, "tun", "dev-cert.pem")), certPem);
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});
