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
import { assert, assertEquals } from "../_util/assert.ts";
import { launchBrowser } from "../_util/browser.ts";
import { DENO, isRoot, nextEvent, ROOT, startHost, startRelay } from "../_util/tun.ts";
import { selfSignedCert } from "../../lib/cert/mod.ts";
import { createLab, type RouterKind } from "../lab/netns.ts";
import type { LabProcess } from "../lab/process.ts";

const MiB = 1024 * 1024;

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

/**
 * What the callbacks below use of the page's globals. They run in the browser;
 * this file is type-checked with Deno's globals, not the DOM's.
 */
interface PageElement {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  naturalWidth?: number;
}
interface PageGlobals {
  document: { getElementById(id: string): PageElement | null };
  getComputedStyle(el: PageElement): { color: string };
}

/** The fixture app (tests/fixtures/web_app.ts) in `ns`; its port and log. */
async function startWebApp(
  spawn: (ns: string, cmd: string[]) => LabProcess,
  ns: string,
): Promise<{ proc: LabProcess; port: number }> {
  const proc = spawn(ns, [DENO, "run", "-A", path.join(ROOT, "tests/fixtures/web_app.ts")]);
  const m = await proc.waitForLine(/^\{"port":(\d+)\}$/, 15_000);
  return { proc, port: Number(m[1]) };
}

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
        await browser.withLog(async () => {
          const page = await browser.page(link);
          const state = await page.evaluate(
            async () => {
              const g = globalThis as unknown as {
                tun?: { appShownMs?: number; error?: string; path?: string };
              };
              for (let i = 0; i < 600 && g.tun?.appShownMs === undefined && !g.tun?.error; i++) {
                await new Promise((r) => setTimeout(r, 50));
              }
              return g.tun;
            },
            undefined,
            35_000,
          );
          assertEquals(state?.error, undefined, `the page reports: ${state?.error}`);
          assertEquals(state?.path, c.path);
          assert(typeof state?.appShownMs === "number", "the app never showed");

          const frame = page.raw.frames().find((f) => f !== page.raw.mainFrame());
          assert(frame, "no app frame");
          await frame.waitForFunction(
            () =>
              (globalThis as unknown as PageGlobals).document.getElementById("result")
                ?.textContent !== "running",
            undefined,
            { timeout: 30_000 },
          );
          const seen = await frame.evaluate(() => {
            // Runs in the page: everything it uses is inside it.
            const w = globalThis as unknown as PageGlobals;
            const $ = (id: string) => w.document.getElementById(id)!;
            const result = $("result");
            const d = result.dataset;
            return {
              sent: d.sent,
              received: d.received,
              bytes: d.bytes,
              error: d.error,
              redirect: d.redirect,
              websocket: d.websocket,
              text: result.textContent,
              title: w.getComputedStyle($("title")).color,
              logo: $("logo").naturalWidth,
            };
          });
          assertEquals(seen.text, "done", `app script: ${seen.error}`);
          assertEquals(seen.title, "rgb(12, 34, 56)"); // style.css applied
          assertEquals(seen.logo, 8); // logo.png decoded
          assertEquals(seen.bytes, String(MiB));
          assertEquals(seen.received, seen.sent); // the echo came back byte-identical
          assertEquals(seen.redirect, "/moved moved here");
          // The app's WebSocket fails at once, and the page tells the user why.
          assertEquals(seen.websocket, "error");
          const notices = await page.evaluate(
            () => (globalThis as unknown as { tun: { notices: string[] } }).tun.notices,
            undefined,
          );
          assert(
            notices.some((n) => n.includes("WebSocket") && n.includes("tun p2p-join")),
            `notices: ${JSON.stringify(notices)}`,
          );
          // The app sees requests as if from localhost, on its own port (lines in order) ...
          const first = await app.proc.waitForLine(/^\{"request":"GET \/","host":"([^"]+)"\}$/);
          assertEquals(first[1], `localhost:${app.port}`);
          // ... and received exactly what the page sent.
          const echo = await app.proc.waitForLine(/^\{"echo":"([0-9a-f]{64})","bytes":(\d+)\}$/);
          assertEquals(echo[1], seen.sent);
          assertEquals(Number(echo[2]), MiB);

          const hostPath = await nextEvent(host.proc, "path");
          const finalPath = hostPath.path === c.path
            ? hostPath
            : await nextEvent(host.proc, "path");
          assertEquals(finalPath.path, c.path);
          console.log(
            `  ${c.path}: link opened → app shown in ${state!.appShownMs} ms ` +
              `(page navigation start to the app frame's load event)`,
          );
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
