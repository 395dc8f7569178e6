/**
 * The single-file executable: scripts/build makes dist/tun, which is copied
 * into an empty directory and run from there alone, with a minimal
 * environment (`env -i PATH=/usr/bin:/bin HOME=<dir>`): no checkout, no
 * node_modules, no Deno or Bun. Relay, host and guest are that file; only the
 * app behind the host and the download run in this test process. Loopback,
 * no root needed.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import { prng, randomBytes } from "../_util/prng.ts";
import { type Json, ROOT } from "../_util/tun.ts";
import { run } from "../lab/process.ts";
import { VERSION } from "../../main.ts";
import { bundleWebAssets } from "../../lib/web/bundle.ts";

const MB = 1024 * 1024;
const bunMissing = !existsSync(path.join(ROOT, "node_modules/.bin/bun"));
if (bunMissing) {
  console.warn("tests/executable: skipped, node_modules/.bin/bun is missing (run scripts/setup)");
}

let built: Promise<string> | null = null;

/** Run scripts/build once per test run; returns dist/tun's path. */
function build(): Promise<string> {
  built ??= (async () => {
    const t0 = performance.now();
    const r = await run([path.join(ROOT, "scripts/build")], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`scripts/build exited ${r.code}:\n${r.stdout}${r.stderr}`);
    console.log(`  scripts/build: ${r.stdout.trim()} (${Math.round(performance.now() - t0)} ms)`);
    return path.join(ROOT, "dist/tun");
  })();
  return built;
}

/** A fresh empty directory holding only a copy of dist/tun. Removed on dispose. */
async function aloneInEmptyDir(): Promise<AsyncDisposable & { dir: string }> {
  const exe = await build();
  const dir = await Deno.makeTempDir({ prefix: "tun-exe-" });
  await Deno.copyFile(exe, path.join(dir, "tun"));
  await Deno.chmod(path.join(dir, "tun"), 0o755);
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** argv running ./tun in `dir` with nothing of this process's environment. */
function minimal(dir: string, args: string[]): Deno.CommandOptions & { args: string[] } {
  return {
    args: ["-i", "PATH=/usr/bin:/bin", `HOME=${dir}`, "./tun", ...args],
    cwd: dir,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  };
}

interface TunProcess extends AsyncDisposable {
  /** The next `--json` event named `name`; throws on an `error` event, exit or timeout. */
  nextEvent(name: string, timeoutMs?: number): Promise<Json>;
}

/** Start `./tun args` in `dir` with a minimal environment, reading its --json events. */
function spawnTun(dir: string, args: string[]): TunProcess {
  const child = new Deno.Command("/usr/bin/env", minimal(dir, args)).spawn();
  const lines: string[] = [];
  let stderr = "";
  let exited: Deno.CommandStatus | null = null;
  const done = Promise.all([
    readLines(child.stdout, (line) => lines.push(line)),
    readLines(child.stderr, (line) => stderr += line + "\n"),
    child.status.then((s) => exited = s),
  ]);
  const failure = (what: string) =>
    new Error(
      `tun ${args.join(" ")}: ${what}\nstdout:\n${lines.join("\n")}\nstderr:\n${stderr}`,
    );
  let cursor = 0;
  return {
    async nextEvent(name, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        while (cursor < lines.length) {
          const line = lines[cursor++];
          if (!line.startsWith("{")) continue;
          const event = JSON.parse(line) as Json;
          if (event.event === name) return event;
          if (event.event === "error") throw failure(`error event before "${name}"`);
        }
        if (exited) throw failure(`exited (code ${exited.code}) before a "${name}" event`);
        await new Promise((r) => setTimeout(r, 20));
      }
      throw failure(`no "${name}" event within ${timeoutMs} ms`);
    },
    async [Symbol.asyncDispose]() {
      const signal = (s: Deno.Signal) => {
        try {
          child.kill(s);
        } catch { /* already gone */ }
      };
      signal("SIGTERM");
      const escalate = setTimeout(() => signal("SIGKILL"), 2_000);
      await done;
      clearTimeout(escalate);
    },
  };
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const bytes of stream) {
    const parts = (partial + decoder.decode(bytes, { stream: true })).split("\n");
    partial = parts.pop()!;
    parts.forEach(onLine);
  }
  if (partial) onLine(partial);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test({
  name: "dist/tun --version, run alone, names its runtime and that WebRTC is built in",
  ignore: bunMissing,
  fn: async () => {
    await using exe = await aloneInEmptyDir();
    const out = await new Deno.Command("/usr/bin/env", minimal(exe.dir, ["--version"])).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    // WebTransport and QUIC are Deno's: a Bun build says so rather than failing later.
    assert(
      new RegExp(
        `^tun ${VERSION.replaceAll(".", "\\.")} \\(bun \\d+\\.\\d+\\.\\d+; ` +
          `webrtc yes, quic no, webtransport no\\)$`,
      ).test(text),
      text,
    );
  },
});

Deno.test({
  name: "dist/tun alone runs relay, host and guest over loopback: 16 MB arrive byte-identical",
  ignore: bunMissing,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using exe = await aloneInEmptyDir();
    const blob = randomBytes(prng(0x7e11), 16 * MB) as Uint8Array<ArrayBuffer>;
    const expected = sha256(blob);
    await using app = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response(blob),
    );

    await using relay = spawnTun(exe.dir, [
      "relay",
      "--listen",
      "127.0.0.1:0",
      "--stun-port",
      "0",
      "--json",
    ]);
    const listening = await relay.nextEvent("listening");
    const relayUrl = `http://127.0.0.1:${listening.port}`;

    await using host = spawnTun(exe.dir, [
      "p2p",
      String(app.addr.port),
      "--relay",
      relayUrl,
      "--json",
    ]);
    const { code } = await host.nextEvent("code");

    await using guest = spawnTun(exe.dir, [
      "p2p-join",
      String(code),
      "--relay",
      relayUrl,
      "--json",
    ]);
    const ready = await guest.nextEvent("ready", 30_000);
    assertEquals(ready.path, "direct");

    const res = await fetch(`http://127.0.0.1:${ready.port}/blob`);
    assertEquals(res.status, 200);
    const got = new Uint8Array(await res.arrayBuffer());
    assertEquals(got.length, 16 * MB);
    assertEquals(sha256(got), expected);

    // The browser guest's scripts were bundled at build time: the relay in the
    // file serves exactly what a relay run from source bundles with esbuild.
    const source = await bundleWebAssets();
    for (const name of ["shell", "sw", "frame"] as const) {
      const r = await fetch(`${relayUrl}/_tun/${name}.js`);
      assertEquals(r.status, 200, `${name}.js`);
      assert((await r.text()) === source[name], `${name}.js differs from the source bundle`);
    }
  },
});
