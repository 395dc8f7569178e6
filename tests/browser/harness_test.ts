/**
 * The browser harness (tests/_util/browser.ts) does what later browser tests rely
 * on: Chromium in one lab namespace opens an HTTPS page served with a self-signed
 * cert from another, where a Service Worker registers and controls the page's
 * requests; and that page reaches public and private lab addresses by fetch,
 * WebSocket and WebTransport, with its real host ICE candidates. Root only.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { launchBrowser } from "../_util/browser.ts";
import { DENO, isRoot } from "../_util/tun.ts";
import { type SelfSignedCert, webTransportCert } from "../../lib/cert/mod.ts";
import { createLab, type Lab } from "../lab/netns.ts";

const MB = 1024 * 1024;
const PORT = 443;

/**
 * Runs under `deno eval` in a lab namespace. On every address in HARNESS_SERVER
 * (TCP and UDP port 443): the page below at "/", its Service Worker at "/sw.js",
 * "/hello" as the network has it (what the Service Worker must hide), "/ping"
 * for cross-origin fetches, a WebSocket echo, and a WebTransport echo of the
 * first chunk of each bidirectional stream. Prints "ready" once all listen.
 */
const SERVER = `
const { hosts, port, cert, key } = JSON.parse(Deno.env.get("HARNESS_SERVER"));
const PAGE = ${JSON.stringify(pageHtml())};
const SW = ${JSON.stringify(serviceWorkerJs())};
const text = (body, type = "text/plain") =>
  new Response(body, { headers: { "content-type": type, "access-control-allow-origin": "*" } });
for (const hostname of hosts) {
  // Both bind before returning, so "ready" below means listening.
  Deno.serve({ hostname, port, cert, key, onListen() {} }, (req) => {
    if (req.headers.get("upgrade") === "websocket") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send("echo " + hostname + " " + e.data);
      return response;
    }
    const path = new URL(req.url).pathname;
    if (path === "/") return text(PAGE, "text/html");
    if (path === "/sw.js") return text(SW, "text/javascript");
    if (path === "/hello" && req.method === "GET") return text("hello from the network");
    if (path === "/ping") return text("pong " + hostname);
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    return new Response("not here", { status: req.method === "GET" ? 404 : 405 });
  });
  const endpoint = new Deno.QuicEndpoint({ hostname, port });
  const quic = endpoint.listen({ cert, key, alpnProtocols: ["h3"] });
  (async () => {
    for await (const incoming of quic) {
      (async () => {
        const wt = await Deno.upgradeWebTransport(await incoming.accept());
        for await (const stream of wt.incomingBidirectionalStreams) {
          const { value } = await stream.readable.getReader().read();
          const writer = stream.writable.getWriter();
          const echo = "echo " + hostname + " " + new TextDecoder().decode(value);
          await writer.write(new TextEncoder().encode(echo));
          await writer.close();
        }
      })().catch((e) => console.error("webtransport:", e));
    }
  })();
}
console.log("ready");
`;

/** The page: registers the Service Worker, then reports one console line. */
function pageHtml(): string {
  return `<!doctype html><meta charset="utf-8"><title>harness</title>
<script type="module">
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
try {
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  await navigator.serviceWorker.ready;
  const frame = document.createElement("iframe");
  const loaded = new Promise((resolve) => frame.onload = resolve);
  frame.src = "/hello";
  document.body.append(frame);
  await loaded;
  const body = new Uint8Array(${MB});
  for (let i = 0; i < body.length; i += 65536) crypto.getRandomValues(body.subarray(i, i + 65536));
  const sent = hex(await crypto.subtle.digest("SHA-256", body));
  const reply = await (await fetch("/hello", { method: "POST", body })).json();
  console.log("harness:result " + JSON.stringify({
    secure: isSecureContext,
    frameText: frame.contentDocument.body.textContent,
    frameControlled: Boolean(frame.contentWindow.navigator.serviceWorker.controller),
    sent,
    reply,
  }));
} catch (error) {
  console.log("harness:error " + error);
}
</script>`;
}

/** Answers "/hello" itself: a page for GET, the size and SHA-256 of the body for POST. */
function serviceWorkerJs(): string {
  return `
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  if (new URL(event.request.url).pathname !== "/hello") return;
  event.respondWith((async () => {
    if (event.request.method !== "POST") {
      return new Response("hello from the service worker");
    }
    const bytes = await event.request.arrayBuffer();
    const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
    return Response.json({ from: "service worker", bytes: bytes.byteLength, sha256 });
  })());
});
`;
}

/** The server above, in `ns`, on each of `hosts`; resolves once it listens. */
async function startServer(lab: Lab, ns: string, hosts: string[], cert: SelfSignedCert) {
  const config = { hosts, port: PORT, cert: cert.certPem, key: cert.keyPem };
  const server = lab.spawn(ns, [DENO, "eval", "--unstable-net", SERVER], {
    env: { HARNESS_SERVER: JSON.stringify(config) },
  });
  await server.waitForLine(/^ready$/, 15_000);
  return server;
}

/**
 * Runs in the page: one fetch, WebSocket and WebTransport exchange with each
 * host's server; what came back, or why it failed, per attempt.
 */
async function reachFromPage(
  { hosts, certHash }: { hosts: string[]; certHash: number[] },
): Promise<Record<string, string>> {
  const attempt = async (f: () => Promise<string>) => {
    try {
      return await f();
    } catch (error) {
      return `failed: ${error}`;
    }
  };
  const out: Record<string, string> = {};
  for (const host of hosts) {
    out[`fetch ${host}`] = await attempt(async () => {
      return await (await fetch(`https://${host}/ping`)).text();
    });
    out[`websocket ${host}`] = await attempt(() =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://${host}/`);
        ws.onopen = () => ws.send("hi");
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onerror = () => reject(new Error("websocket error"));
      })
    );
    out[`webtransport ${host}`] = await attempt(async () => {
      const value = Uint8Array.from(certHash);
      const wt = new WebTransport(`https://${host}/`, {
        serverCertificateHashes: [{ algorithm: "sha-256", value }],
      });
      await wt.ready;
      const stream = await wt.createBidirectionalStream();
      await stream.writable.getWriter().write(new TextEncoder().encode("hi"));
      const { value: echo } = await stream.readable.getReader().read();
      wt.close();
      return new TextDecoder().decode(echo);
    });
  }
  return out;
}

/** Runs in the page: the ICE candidates of a fresh peer connection, no STUN server. */
async function hostCandidates(): Promise<string[]> {
  const { RTCPeerConnection } = globalThis as unknown as PageGlobals;
  const pc = new RTCPeerConnection();
  pc.createDataChannel("probe");
  const found: string[] = [];
  const gathered = new Promise<void>((resolve) => {
    pc.onicecandidate = (e) => e.candidate ? found.push(e.candidate.candidate) : resolve();
  });
  await pc.setLocalDescription();
  await gathered; // quick: host candidates only
  pc.close();
  return found;
}

/** The part of the page's WebRTC API used above (Deno's types have no WebRTC). */
interface PageGlobals {
  RTCPeerConnection: new () => {
    createDataChannel(label: string): unknown;
    setLocalDescription(): Promise<void>;
    onicecandidate: ((event: { candidate: { candidate: string } | null }) => void) | null;
    close(): void;
  };
}

Deno.test({
  name:
    "a page on a self-signed HTTPS origin, opened in another namespace, is served by its own Service Worker",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using lab = await createLab({ sites: { guest: "port-restricted" } });
    const { ip } = lab.internet;
    const cert = await webTransportCert([ip]);
    await startServer(lab, lab.internet.ns, [ip], cert);
    await using browser = await launchBrowser({
      netns: lab.site("guest").ns,
      trustSpki: [cert.spkiSha256Base64],
    });
    await browser.withLog(async () => {
      const page = await browser.page(`https://${ip}/`);
      const m = await page.waitForConsole(/^harness:(result|error) (.*)$/, 20_000);
      assertEquals(m[1], "result", `the page failed: ${m[2]}`);
      const result = JSON.parse(m[2]);
      assertEquals(result.secure, true);
      assertEquals(result.frameText, "hello from the service worker");
      assertEquals(result.frameControlled, true);
      assertEquals(result.reply, { from: "service worker", bytes: MB, sha256: result.sent });
    });
  },
});

Deno.test({
  name:
    "a page on the lab internet reaches public and private addresses by fetch, WebSocket and WebTransport, and offers its real host candidate",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using lab = await createLab({ sites: { guest: "port-restricted" } });
    const { ip, altIp } = lab.internet;
    const guest = lab.site("guest");
    const cert = await webTransportCert([ip, altIp, guest.ip]);
    // The page's origin and a second public address; a private one, the guest's own.
    await startServer(lab, lab.internet.ns, [ip, altIp], cert);
    await startServer(lab, guest.ns, [guest.ip], cert);
    await using browser = await launchBrowser({
      netns: guest.ns,
      trustSpki: [cert.spkiSha256Base64],
    });
    await browser.withLog(async () => {
      const page = await browser.page(`https://${ip}/ping`); // any page of the origin
      const hosts = [altIp, guest.ip];
      const reached = await page.evaluate(
        reachFromPage,
        { hosts, certHash: [...cert.sha256] },
        20_000,
      );
      const expected: Record<string, string> = {};
      for (const host of hosts) {
        expected[`fetch ${host}`] = `pong ${host}`;
        expected[`websocket ${host}`] = `echo ${host} hi`;
        expected[`webtransport ${host}`] = `echo ${host} hi`;
      }
      assertEquals(reached, expected);

      const candidates = await page.evaluate(hostCandidates, undefined);
      assert(
        candidates.some((c) => c.split(" ")[4] === guest.ip && c.includes(" typ host")),
        `expected a host candidate at ${guest.ip}, got ${JSON.stringify(candidates)}`,
      );
    });
  },
});
