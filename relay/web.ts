/**
 * What the relay serves to browser guests (lib/web): the shell page at
 * /_tun/join/<name>, its scripts, and the Service Worker, allowed to control
 * the whole origin (scope "/") so the shared app's own paths reach the host.
 * The secret part of the join code is in the link's fragment: never here.
 */
import type { Hono } from "hono";
import { landingPage, shellPage, webAssets } from "../lib/web/mod.ts";

const SCRIPT = "text/javascript; charset=utf-8";

/** Headers for tun's own pages: no caching across relay versions, no framing by others. */
const OWN_HEADERS = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
};

export function webRoutes(app: Hono, log: (line: string) => void): void {
  const asset =
    (pick: "shell" | "sw" | "frame", extra: Record<string, string> = {}) =>
    async (c: { body: (b: string, s: number, h: Record<string, string>) => Response }) => {
      try {
        const assets = await webAssets();
        return c.body(assets[pick], 200, { "content-type": SCRIPT, ...OWN_HEADERS, ...extra });
      } catch (err) {
        log(`cannot build the browser guest's scripts: ${(err as Error).message}`);
        return c.body("// the relay could not build this script\n", 500, {
          "content-type": SCRIPT,
        });
      }
    };
  app.get("/_tun/shell.js", asset("shell"));
  app.get("/_tun/frame.js", asset("frame"));
  // The worker script lives under /_tun/ but controls "/": the app's paths.
  app.get("/_tun/sw.js", asset("sw", { "service-worker-allowed": "/" }));
  app.get("/_tun/join", (c) => c.html(landingPage(), 200, OWN_HEADERS));
  app.get("/_tun/join/:name", (c) => {
    const name = c.req.param("name");
    if (!/^[0-9A-Za-z]{1,16}$/.test(name)) return c.text("not a session name\n", 404);
    return c.html(shellPage(name), 200, OWN_HEADERS);
  });
}
