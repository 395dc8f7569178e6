/**
 * What a browser guest test checks once the page is open: the app of several
 * files (tests/fixtures/web_app.ts) shows in the page, on the expected path,
 * and its 1 MiB POST, redirect and WebSocket notice all behave.
 */
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import type { BrowserPage, LabBrowser } from "../_util/browser.ts";
import { DENO, lastWords, nextEvent, ROOT } from "../_util/tun.ts";
import type { LabProcess } from "../lab/process.ts";

const MiB = 1024 * 1024;

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
export async function startWebApp(
  spawn: (ns: string, cmd: string[]) => LabProcess,
  ns: string,
): Promise<{ proc: LabProcess; port: number }> {
  const proc = spawn(ns, [DENO, "run", "-A", path.join(ROOT, "tests/fixtures/web_app.ts")]);
  const m = await proc.waitForLine(/^\{"port":(\d+)\}$/, 15_000);
  return { proc, port: Number(m[1]) };
}

export interface AppCheck {
  browser: LabBrowser;
  /** The link the host printed. */
  link: string;
  app: { proc: LabProcess; port: number };
  /** The host process (its --json events). */
  host: LabProcess;
  path: "webtransport" | "direct" | "relay";
  /** More checks on the same page, once the app has been checked. */
  after?: (page: BrowserPage) => Promise<void>;
}

/** Open the link and check the app; returns the page's time to show it, in ms. */
export async function expectAppInPage(o: AppCheck): Promise<number> {
  try {
    return await checkApp(o);
  } catch (err) {
    console.log(`host's last events:${lastWords({ host: o.host }, 20)}`);
    throw err;
  }
}

async function checkApp(o: AppCheck): Promise<number> {
  const page = await o.browser.page(o.link);
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
  assertEquals(state?.path, o.path);
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
      stream: d.stream,
      websocket: d.websocket,
      text: result.textContent,
      title: w.getComputedStyle($("title")).color,
      logo: $("logo").naturalWidth,
    };
  });
  assertEquals(
    seen.text,
    "done",
    `app script: ${seen.error}`,
  );
  assertEquals(seen.title, "rgb(12, 34, 56)"); // style.css applied
  assertEquals(seen.logo, 8); // logo.png decoded
  assertEquals(seen.bytes, String(MiB));
  assertEquals(seen.received, seen.sent); // the echo came back byte-identical
  assertEquals(seen.redirect, "/moved moved here");
  assertEquals(seen.stream, "one,two,three as sent"); // streamed, not buffered
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
  const first = await o.app.proc.waitForLine(/^\{"request":"GET \/","host":"([^"]+)"\}$/);
  assertEquals(first[1], `localhost:${o.app.port}`);
  // ... and received exactly what the page sent.
  const echo = await o.app.proc.waitForLine(/^\{"echo":"([0-9a-f]{64})","bytes":(\d+)\}$/);
  assertEquals(echo[1], seen.sent);
  assertEquals(Number(echo[2]), MiB);

  const hostPath = await nextEvent(o.host, "path");
  const finalPath = hostPath.path === o.path ? hostPath : await nextEvent(o.host, "path");
  assertEquals(finalPath.path, o.path);
  await o.after?.(page);
  return state!.appShownMs!;
}
