/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The browser guest's page: /_tun/join/<name>#<secret>. It joins the session
 * (connect.ts), registers the Service Worker (sw.ts), then shows the host's
 * app in a frame; the worker hands every request of the app to this tab,
 * which carries it to the host's shared port as HTTP/1.1 over one tunnel
 * stream per request (lib/web/http).
 *
 * The secret travels in the URL fragment, which browsers never send: the
 * relay serving this page never sees it. It is removed from the address bar
 * once read, and kept in sessionStorage so a reload of this tab still works.
 */
import { connectToHost, type Transport } from "./connect.ts";
import type { FrameNotice, ProxyReply, ProxyRequest } from "./protocol.ts";
import { OWN_PREFIX, SHELL_PREFIX } from "./protocol.ts";
import { HeaderRewriter, httpRequest } from "../http/mod.ts";
import { injectFrameScript } from "./inject.ts";
import { parseJoinCode } from "../../code/mod.ts";

interface ShellState {
  /** When the page started, for the "app shown in N ms" figure. */
  started: number;
  path?: string;
  rttMs?: number | null;
  appShownMs?: number;
  error?: string;
  notices: string[];
}

const state: ShellState = { started: performance.now(), notices: [] };
// Read by tests and by curious users in the console.
(globalThis as unknown as { tun: ShellState }).tun = state;

const $ = (id: string) => document.getElementById(id)!;

function setStatus(text: string, kind: "info" | "ok" | "error" = "info") {
  console.info(`tun: ${text}`);
  const el = $("tun-status");
  el.textContent = text;
  el.className = kind;
}

function showNotice(text: string) {
  if (state.notices.includes(text)) return;
  state.notices.push(text);
  const el = document.createElement("div");
  el.className = "notice";
  el.textContent = text;
  $("tun-notices").append(el);
}

function readCode(): { name: string; secret: string } | string {
  const name = decodeURIComponent(location.pathname.slice(SHELL_PREFIX.length));
  const key = `tun-secret:${name.toUpperCase()}`;
  const fromHash = location.hash.replace(/^#/, "").trim();
  if (fromHash) {
    sessionStorage.setItem(key, fromHash);
    // Out of the address bar and history; a reload of this tab finds it again.
    history.replaceState(null, "", location.pathname + location.search);
  }
  const secret = fromHash || sessionStorage.getItem(key);
  if (!secret) {
    return "this link has no secret part: open the full link the host printed (it ends in #...)";
  }
  try {
    return parseJoinCode(`${name}-${secret}`);
  } catch (err) {
    return (err as Error).message;
  }
}

async function main() {
  const code = readCode();
  if (typeof code === "string") {
    state.error = code;
    setStatus(code, "error");
    return;
  }
  $("tun-name").textContent = code.name;
  if (!("serviceWorker" in navigator)) {
    setStatus(
      "this browser cannot run Service Workers here (they need https with a trusted certificate)",
      "error",
    );
    return;
  }
  let transport: Transport;
  try {
    const [t] = await Promise.all([
      connectToHost({
        relayUrl: location.origin,
        name: code.name,
        secret: code.secret,
        onstatus: (text) => setStatus(text),
      }),
      navigator.serviceWorker.register(`${OWN_PREFIX}sw.js`, { scope: "/" }).then(() =>
        navigator.serviceWorker.ready
      ),
    ]);
    transport = t;
  } catch (err) {
    state.error = (err as Error).message;
    setStatus(state.error, "error");
    return;
  }
  state.path = transport.path;
  state.rttMs = transport.rttMs;
  const label = transport.path === "relay" ? "relay (TURN)" : transport.path;
  setStatus(
    `connected · ${label} · ${transport.detail}` +
      (transport.rttMs !== null ? ` · rtt ${transport.rttMs} ms` : ""),
    "ok",
  );
  transport.closed.then((why) => {
    state.error = `connection to the host lost: ${why}`;
    console.warn(`tun: ${state.error}`);
    setStatus(`${state.error} — reload to reconnect`, "error");
  });

  // The app sees requests as if from http://localhost:<its port> (the link's ?port=).
  const port = Number(new URLSearchParams(location.search).get("port")) || 80;
  const rewriter = new HeaderRewriter({ publicOrigin: location.origin, targetPort: port });
  navigator.serviceWorker.addEventListener("message", (ev: MessageEvent) => {
    const msg = ev.data as ProxyRequest;
    if (msg?.tun !== "fetch" || !ev.ports[0]) return;
    const port = ev.ports[0];
    handle(transport, rewriter, msg).then((reply) => {
      port.postMessage(reply, "body" in reply && reply.body ? [reply.body] : []);
    }, (err: Error) => {
      console.warn(`tun: ${msg.method} ${msg.url}: ${err.message}`);
      port.postMessage({ error: err.message } satisfies ProxyReply);
    });
  });
  addEventListener("message", (ev: MessageEvent) => {
    const msg = ev.data as FrameNotice;
    if (ev.origin === location.origin && msg?.tun === "notice") showNotice(msg.text);
  });

  const frame = $("tun-app") as HTMLIFrameElement;
  frame.addEventListener("load", () => {
    if (state.appShownMs !== undefined) return;
    state.appShownMs = Math.round(performance.now() - state.started);
    $("tun-timing").textContent = `app shown in ${state.appShownMs} ms`;
  });
  frame.src = "/";
}

/** One request of the app, carried to the host as HTTP/1.1 on a stream of its own. */
async function handle(t: Transport, rw: HeaderRewriter, msg: ProxyRequest): Promise<ProxyReply> {
  const url = new URL(msg.url);
  if (url.origin !== location.origin) return { error: `not proxied: ${url.origin}` };
  const target = url.pathname + url.search;
  const res = await httpRequest(() => t.open(), {
    method: msg.method,
    target,
    headers: rw.request(msg.headers, target),
    body: msg.body ? new Uint8Array(msg.body) : null,
  }, { decode: true });
  const headers = rw.response(res.headers, target);
  let body = res.body;
  const type = headers.find(([k]) => k.toLowerCase() === "content-type")?.[1] ?? "";
  if (body && msg.navigate && /^text\/html/i.test(type)) body = injectFrameScript(body);
  return { status: res.status, statusText: res.statusText, headers, body };
}

main();
