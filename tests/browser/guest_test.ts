/**
 * A person with only a browser joins a shared port: headless Chromium in one lab
 * namespace opens the link `tun p2p` printed, served over HTTPS by the relay on
 * the lab's internet, and the host's app (several files and a 1 MiB POST echo)
 * shows in the page through the Service Worker. Once over WebTransport (the host
 * has a public address), once over a DataChannel with the host behind a NAT, and
 * through the relay's TURN when no direct path can exist (found early from the
 * NATs' behaviour, or after the p2p timeout, over TCP where UDP is blocked).
 * Root only.
 */
import path from "node:path";
import { assert } from "../_util/assert.ts";
import { type BrowserPage, launchBrowser } from "../_util/browser.ts";
import { expectAppInPage, startWebApp } from "./_app.ts";
import { isRoot, startHost, startRelay } from "../_util/tun.ts";
import { selfSignedCert } from "../../lib/cert/mod.ts";
import { createLab, type RouterKind } from "../lab/netns.ts";

interface Case {
  name: string;
  host: RouterKind;
  browser: RouterKind;
  /** The page's transport once connected. */
  path: "webtransport" | "direct" | "relay";
}

const cases: Case[] = [
  {
    name: "a browser reaches a host with a public address over WebTransport",
    host: "none",
    browser: "port-restricted",
    path: "webtransport",
  },
  {
    name: "a browser reaches a host behind a NAT over a direct DataChannel",
    host: "port-restricted",
    browser: "port-restricted",
    path: "direct",
  },
  {
    name: "a browser behind a symmetric NAT reaches a port-restricted host over the relay's TURN",
    host: "port-restricted",
    browser: "symmetric",
    path: "relay",
  },
  {
    // No UDP: the page's NAT probe finds nothing, so the p2p timeout decides,
    // and relay mode runs over TURN/TCP.
    name: "a browser on a network that blocks UDP reaches the host through TURN over TCP",
    host: "port-restricted",
    browser: "udp-blocked",
    path: "relay",
  },
];

for (const c of cases) {
  Deno.test({
    name: `${c.name}, and the app's pages, styles, image and a 1 MiB POST arrive intact`,
    ignore: !isRoot(),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await using lab = await createLab({ sites: { host: c.host, browser: c.browser } });
      const hostSite = lab.site("host");
      const browserSite = lab.site("browser");
      const dir = await Deno.makeTempDir({ prefix: "tun-browser-" });
      try {
        // The relay's HTTPS certificate, trusted by the browser as a real one would be.
        const cert = await selfSignedCert({
          commonName: "tun lab relay",
          ipAddresses: [lab.internet.ip],
          validDays: 2,
        });
        await Deno.writeTextFile(path.join(dir, "cert.pem"), cert.certPem);
        await Deno.writeTextFile(path.join(dir, "key.pem"), cert.keyPem);
        const relay = await startRelay(lab.internet.ns, lab.internet.ip, [
          "--https-port",
          "0",
          "--tls-cert",
          path.join(dir, "cert.pem"),
          "--tls-key",
          path.join(dir, "key.pem"),
        ]);
        await using _relay = relay.proc;
        const app = await startWebApp(lab.spawn.bind(lab), hostSite.ns);
        await using _app = app.proc;
        const host = await startHost(hostSite.ns, app.port, [
          "--relay",
          relay.info.url,
          "--audit-log",
          path.join(dir, "audit.jsonl"),
        ]);
        await using _host = host.proc;
        const link = host.info.link;
        assert(link, "the host printed no browser link");
        assert(link.startsWith(`https://${lab.internet.ip}:`), `link ${link}`);
        // The secret is in the fragment only: never sent to the relay.
        const [beforeHash, secret] = link.split("#");
        assert(secret && !beforeHash.includes(secret), `link ${link}`);

        await using browser = await launchBrowser({
          netns: browserSite.ns,
          trustSpki: [cert.spkiSha256Base64],
          // Real browsers hide their host candidates; so does this one.
          mdnsHostCandidates: true,
        });
        // Over a DataChannel, the page must also notice a host that is gone
        // (killed: its relay connection ends, and it answers no ping), and say
        // so, rather than leave the app's requests hanging for libwebrtc's ~16 s.
        const hostGone = async (page: BrowserPage) => {
          await host.proc.kill("SIGKILL");
          await page.waitForConsole(/connection to the host lost: .*did not answer/, 15_000);
        };
        const shownMs = await browser.withLog(() =>
          expectAppInPage({
            browser,
            link,
            app,
            host: host.proc,
            path: c.path,
            after: c.path === "direct" ? hostGone : undefined,
          })
        );
        console.log(
          `  ${c.path}: link opened → app shown in ${shownMs} ms ` +
            `(page navigation start to the app frame's load event)`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
