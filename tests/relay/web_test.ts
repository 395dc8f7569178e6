/**
 * The relay as a browser guest meets it: the join page, its scripts and the
 * Service Worker over HTTPS, and the https origin hosts are told to link to.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import { startRelay } from "../../relay/mod.ts";
import { selfSignedCert } from "../../lib/cert/mod.ts";
import { SignalClient } from "../../lib/signal/mod.ts";

const cert = await selfSignedCert({
  commonName: "relay test",
  ipAddresses: ["127.0.0.1"],
  validDays: 1,
});

async function hostedWeb(relayUrl: string): Promise<string | null> {
  const host = await SignalClient.connect({ relayUrl });
  try {
    host.send({ t: "host" });
    const hosted = await host.next(["hosted"]);
    return hosted.t === "hosted" ? hosted.web : null;
  } finally {
    await host.close();
  }
}

Deno.test("over HTTPS the relay serves the join page, its scripts and a Service Worker for the whole origin", async () => {
  const relay = await startRelay({
    hostname: "127.0.0.1",
    port: 0,
    stunPort: 0,
    https: { port: 0, certPem: cert.certPem, keyPem: cert.keyPem },
  });
  using client = Deno.createHttpClient({ caCerts: [cert.certPem] });
  const base = `https://127.0.0.1:${relay.httpsPort}`;
  try {
    const page = await fetch(`${base}/_tun/join/K7M2`, { client });
    assertEquals(page.status, 200);
    assert(page.headers.get("content-type")?.startsWith("text/html"));
    const html = await page.text();
    assert(html.includes(`src="/_tun/shell.js"`), html);
    assert(html.includes("K7M2"));

    const sw = await fetch(`${base}/_tun/sw.js`, { client });
    assertEquals(sw.status, 200);
    assertEquals(sw.headers.get("service-worker-allowed"), "/");
    assert(sw.headers.get("content-type")?.startsWith("text/javascript"));
    assert((await sw.text()).includes("respondWith"));
    for (const script of ["shell.js", "frame.js"]) {
      const r = await fetch(`${base}/_tun/${script}`, { client });
      assertEquals(r.status, 200, script);
      assert((await r.text()).length > 100, script);
    }
    const bad = await fetch(`${base}/_tun/join/${"X".repeat(40)}`, { client });
    assertEquals(bad.status, 404);
    await bad.body?.cancel();

    // Hosts are told where browsers reach the relay, as they reached it.
    assertEquals(await hostedWeb(`http://127.0.0.1:${relay.port}`), base);
  } finally {
    await relay.close();
  }
});

Deno.test("hosts get no browser origin from a relay without HTTPS, and the proxy's origin behind a TLS proxy", async () => {
  const plain = await startRelay({ hostname: "127.0.0.1", port: 0, stunPort: 0 });
  try {
    assertEquals(await hostedWeb(`http://127.0.0.1:${plain.port}`), null);
  } finally {
    await plain.close();
  }
  const proxied = await startRelay({
    hostname: "127.0.0.1",
    port: 0,
    stunPort: 0,
    publicUrl: "https://relay.example/",
  });
  try {
    assertEquals(await hostedWeb(`http://127.0.0.1:${proxied.port}`), "https://relay.example");
  } finally {
    await proxied.close();
  }
});
