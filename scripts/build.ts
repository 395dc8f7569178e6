/**
 * Build dist/tun: one executable holding the Bun runtime, tun's code, the
 * browser guest's scripts and @roamhq/wrtc's native part. Run by bun
 * (scripts/build); `bun build --compile` needs nothing from the internet.
 *
 * Two things `bun run main.ts` finds on disk are made part of the file here:
 * - wrtc.node: @roamhq/wrtc's lib/binding.js tries paths in a loop, which the
 *   bundler cannot follow; a plugin swaps it for one static require, which
 *   Bun embeds and loads from the executable.
 * - the guest's scripts, which the relay bundles with esbuild at runtime
 *   (lib/web/bundle.ts): bundled now and defined as `__TUN_WEB_ASSETS__`.
 *
 * The release build where Deno's base runtime can be downloaded is
 * `deno compile -A --unstable-net -o dist/tun main.ts` (with QUIC and
 * WebTransport); it cannot run offline.
 */
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";
import { bundleWebAssets } from "../lib/web/bundle.ts";

// Small local description of the part of Bun's API used here.
interface BunPluginBuilder {
  onResolve(
    options: { filter: RegExp },
    resolve: (args: { path: string }) => { path: string; namespace?: string },
  ): void;
  onLoad(
    options: { filter: RegExp; namespace?: string },
    load: (args: { path: string }) => { contents: string; loader: "js" },
  ): void;
}
interface BunBuildOutput {
  success: boolean;
  logs: unknown[];
}
interface BunLike {
  build(options: {
    entrypoints: string[];
    compile: { outfile: string };
    target: "bun";
    minify: boolean;
    define: Record<string, string>;
    external: string[];
    plugins: { name: string; setup(build: BunPluginBuilder): void }[];
  }): Promise<BunBuildOutput>;
}

const root = path.resolve(import.meta.dirname!, "..");
const outfile = path.join(root, "dist/tun");
/** Where a package's CommonJS entry is, as main.ts would find it. */
const resolve = createRequire(path.join(root, "main.ts")).resolve;
const wrtcNative = `@roamhq/wrtc-${process.platform}-${process.arch}/wrtc.node`;

const embedWrtc = {
  name: "embed-wrtc-native",
  setup(build: BunPluginBuilder) {
    build.onLoad({ filter: /@roamhq[\\/]wrtc[\\/]lib[\\/]binding\.js$/ }, () => ({
      contents: `module.exports = require(${JSON.stringify(wrtcNative)});`,
      loader: "js",
    }));
  },
};

// lib/cert/x509.ts imports reflect-metadata (CommonJS), then @peculiar/x509,
// whose ES build needs the polyfill at import time (tsyringe). In a module
// loaded lazily (lib/cli/relay_cmd.ts and lib/peer/* are, by main.ts), Bun
// 1.4's bundler runs the ES imports before the CommonJS ones, so the
// executable stopped with "tsyringe requires a reflect polyfill". Seen
// through an ES module that imports it, the polyfill keeps its place.
const reflectMetadataAsEsm = {
  name: "reflect-metadata-as-esm",
  setup(build: BunPluginBuilder) {
    build.onResolve({ filter: /^reflect-metadata$/ }, () => ({
      path: "reflect-metadata",
      namespace: "tun-esm",
    }));
    build.onLoad({ filter: /.*/, namespace: "tun-esm" }, () => ({
      contents: `import ${JSON.stringify(resolve("reflect-metadata"))};`,
      loader: "js",
    }));
  },
};

const t0 = performance.now();
const assets = await bundleWebAssets();
const bun = (globalThis as unknown as { Bun: BunLike }).Bun;
const result = await bun.build({
  entrypoints: [path.join(root, "main.ts")],
  compile: { outfile },
  target: "bun",
  minify: true,
  // A define's value is source text: a JSON string literal of the assets' JSON.
  define: { __TUN_WEB_ASSETS__: JSON.stringify(JSON.stringify(assets)) },
  // Only bundleWebAssets imports esbuild, and the executable never calls it.
  external: ["esbuild"],
  plugins: [embedWrtc, reflectMetadataAsEsm],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  console.error("tun build: bun build --compile failed");
  process.exit(1);
}
const { size } = await import("node:fs").then((fs) => fs.promises.stat(outfile));
const seconds = ((performance.now() - t0) / 1000).toFixed(1);
console.log(
  `${path.relative(process.cwd(), outfile) || outfile}  ${(size / 1e6).toFixed(1)} MB  ` +
    `built in ${seconds} s`,
);
