/**
 * The browser guest's scripts, bundled from lib/web/guest/*.ts with esbuild
 * the first time a relay serves them (~100 ms), then kept in memory. The page
 * reuses lib/ as it is: lib/rtc/native.ts (@roamhq/wrtc) becomes the browser's
 * RTCPeerConnection (guest/wrtc_shim.ts) and cbor-x's encode entry its browser build.
 *
 * The single-file executable has neither esbuild nor the .ts sources: its
 * build (scripts/build.ts) runs {@link bundleWebAssets} once and defines
 * `__TUN_WEB_ASSETS__` as the result, which {@link webAssets} then serves.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface WebAssets {
  /** The shell page's script (guest/shell.ts). */
  shell: string;
  /** The Service Worker (guest/sw.ts). */
  sw: string;
  /** Injected into the app's pages (guest/frame.ts). */
  frame: string;
}

/** JSON of a {@link WebAssets}, replaced at build time in the executable; undeclared otherwise. */
declare const __TUN_WEB_ASSETS__: string | undefined;

let cached: Promise<WebAssets> | null = null;

export function webAssets(): Promise<WebAssets> {
  if (typeof __TUN_WEB_ASSETS__ === "string") {
    cached ??= Promise.resolve(JSON.parse(__TUN_WEB_ASSETS__) as WebAssets);
  }
  cached ??= bundleWebAssets();
  cached.catch(() => cached = null); // let a later request try again
  return cached;
}

/** Bundle the guest's scripts with esbuild (needs the sources and esbuild's binary). */
export async function bundleWebAssets(): Promise<WebAssets> {
  const esbuild = await import("esbuild");
  const entry = (name: string) => fileURLToPath(new URL(`./guest/${name}.ts`, import.meta.url));
  try {
    const result = await esbuild.build({
      entryPoints: { shell: entry("shell"), sw: entry("sw"), frame: entry("frame") },
      bundle: true,
      write: false,
      outdir: "/_tun",
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      legalComments: "none",
      alias: { "cbor-x/encode": "cbor-x" },
      plugins: [{
        name: "browser-webrtc",
        setup(build) {
          const native = fileURLToPath(new URL("../rtc/native.ts", import.meta.url));
          const shim = fileURLToPath(new URL("./guest/wrtc_shim.ts", import.meta.url));
          build.onResolve({ filter: /native\.ts$/ }, (args) => {
            return path.resolve(args.resolveDir, args.path) === native ? { path: shim } : undefined;
          });
        },
      }],
      logLevel: "silent",
    });
    const out = (name: string) => {
      const file = result.outputFiles.find((f) => f.path.endsWith(`/${name}.js`));
      if (!file) throw new Error(`bundle has no ${name}.js`);
      return file.text;
    };
    return { shell: out("shell"), sw: out("sw"), frame: out("frame") };
  } finally {
    await esbuild.stop();
  }
}
