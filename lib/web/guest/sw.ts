/**
 * The browser guest's Service Worker (scope "/" of the relay's origin). Every
 * request of the shared app (any method, headers, body) is handed to the tab
 * that joined the session (the shell, /_tun/join/<name>), which carries it to
 * the host over WebTransport or a DataChannel and streams the answer back.
 *
 *   app frame --fetch--> this worker --postMessage + MessagePort--> shell tab
 *   shell tab --{status, headers, body: ReadableStream}--> this worker --> app
 *
 * Requests under /_tun/ (the guest's own page and scripts) go to the relay as
 * usual, and so does everything while no shell tab is open. A worker holds no
 * connection itself: browsers stop idle workers, and WebRTC does not exist in
 * workers; the shell tab lives as long as the user keeps it open.
 */
/// <reference lib="webworker" />
import type { ProxyReply, ProxyRequest } from "./protocol.ts";
import { OWN_PREFIX, SHELL_PREFIX } from "./protocol.ts";

declare const self: ServiceWorkerGlobalScope;

self.addEventListener("install", () => {
  self.skipWaiting();
});
self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

/** The newest open shell tab (the one that joined last). */
async function findShell(): Promise<Client | undefined> {
  const all = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const shells = all.filter((c) => new URL(c.url).pathname.startsWith(SHELL_PREFIX));
  return shells.at(-1);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith(OWN_PREFIX)) return;
  event.respondWith(proxy(event.request));
});

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

async function proxy(request: Request): Promise<Response> {
  const shell = await findShell();
  if (!shell) {
    // No session in this browser: the relay answers as usual.
    return fetch(request);
  }
  const body = request.method === "GET" || request.method === "HEAD"
    ? null
    : await request.arrayBuffer();
  const { port1, port2 } = new MessageChannel();
  const message: ProxyRequest = {
    tun: "fetch",
    method: request.method,
    url: request.url,
    headers: [...request.headers],
    body,
    navigate: request.mode === "navigate",
  };
  const reply = new Promise<ProxyReply>((resolve) => {
    port1.onmessage = (ev) => resolve(ev.data as ProxyReply);
  });
  shell.postMessage(message, body ? [port2, body] : [port2]);
  const r = await reply;
  port1.close();
  if ("error" in r) {
    return new Response(`tun: ${r.error}\n`, {
      status: 502,
      statusText: "Bad Gateway",
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  return new Response(NULL_BODY.has(r.status) ? null : r.body, {
    status: r.status,
    statusText: r.statusText,
    headers: r.headers,
  });
}
