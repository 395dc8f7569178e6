/**
 * A browser's WebTransport session to the host outlives garbage collection
 * there. Deno's WebTransport object from the HTTP/3 upgrade holds the
 * browser's control stream; when nothing kept it, the collector dropped it,
 * Chromium got STOP_SENDING on that stream and closed the connection
 * (H3_CLOSED_CRITICAL_STREAM; "Connection lost" in the page), whenever the
 * host's collector happened to run. The server here collects every 20 ms.
 */
import path from "node:path";
import { assertEquals } from "../_util/assert.ts";
import { launchBrowser } from "../_util/browser.ts";
import { DENO, ROOT } from "../_util/tun.ts";
import { hasQuic } from "../../lib/runtime/mod.ts";

Deno.test({
  name: "a browser's WebTransport session stays open while the server collects garbage",
  ignore: !hasQuic(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = new Deno.Command(DENO, {
      args: [
        "run",
        "-A",
        "--unstable-net",
        "--v8-flags=--expose-gc",
        path.join(ROOT, "tests/fixtures/wt_gc_server.ts"),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("the server exited before listening");
        text += value;
      }
      const where = JSON.parse(text.split("\n")[0]) as { page: string; wt: string; hash: number[] };
      await using browser = await launchBrowser();
      const page = await browser.page(where.page);
      const seen = await page.evaluate(
        async ({ wt: url, hash }) => {
          const wt = new WebTransport(url, {
            serverCertificateHashes: [{ algorithm: "sha-256", value: new Uint8Array(hash) }],
          });
          let state = "open";
          wt.closed.then(() => state = "closed", (e: Error) => state = `lost: ${e.message}`);
          await wt.ready;
          // A second of collections on the server, a stream echoed every 100 ms.
          const echoed: string[] = [];
          for (let round = 0; round < 10 && state === "open"; round++) {
            await new Promise((r) => setTimeout(r, 100));
            try {
              const s = await wt.createBidirectionalStream();
              const writer = s.writable.getWriter();
              const sent = `round ${round}`;
              await writer.write(new TextEncoder().encode(sent));
              const reader = s.readable.getReader();
              let got = "";
              while (got.length < sent.length) {
                const { value, done } = await reader.read();
                if (done) break;
                got += new TextDecoder().decode(value);
              }
              echoed.push(got);
              await writer.close();
            } catch (e) {
              echoed.push(`failed: ${(e as Error).message}`);
            }
          }
          wt.close();
          return { state, echoed };
        },
        where,
        20_000,
      );
      assertEquals(seen.state, "open");
      assertEquals(seen.echoed, [...Array(10).keys()].map((i) => `round ${i}`));
    } finally {
      await lines.cancel().catch(() => {});
      server.kill();
      await server.status;
    }
  },
});
