/**
 * Start tun's real processes (relay, host, guest) and the test app inside a
 * network namespace, reading their --json events. Shared by the loopback
 * integration tests, the NAT lab and the bench.
 */
import path from "node:path";
import { exec, type LabProcess, spawnIn } from "../lab/process.ts";

export const ROOT = path.resolve(import.meta.dirname!, "../..");
export const DENO = path.join(ROOT, "node_modules/.bin/deno");
/** The argv that runs tun from this checkout. */
export const TUN = [DENO, "run", "-A", "--unstable-net", "--quiet", path.join(ROOT, "main.ts")];

export type Json = Record<string, unknown>;

export function isRoot(): boolean {
  return typeof Deno.uid === "function" && Deno.uid() === 0;
}

/**
 * What each process printed last (stdout lines and stderr), to add to a
 * failing assertion's message: a rare failure in CI is then readable.
 */
export function lastWords(procs: Record<string, LabProcess>, lines = 25): string {
  return Object.entries(procs).map(([name, p]) => {
    const err = p.stderr.trim().split("\n").slice(-lines).join("\n");
    return `\n--- ${name} stdout\n${p.lines.slice(-lines).join("\n")}` +
      (err ? `\n--- ${name} stderr\n${err}` : "");
  }).join("");
}

/** The next JSON event line with `event === name` (skips other events). */
export async function nextEvent(p: LabProcess, name: string, timeoutMs = 20_000): Promise<Json> {
  const m = await p.waitForLine(new RegExp(`^\\{.*"event":"${name}"`), timeoutMs);
  return JSON.parse(m.input!) as Json;
}

export interface Started<T> {
  proc: LabProcess;
  info: T;
}

/** The HTTP fixture app on 127.0.0.1:0, serving files from `dir`. */
export async function startApp(ns: string, dir: string): Promise<Started<{ port: number }>> {
  const proc = spawnIn(ns, [
    DENO,
    "run",
    "-A",
    path.join(ROOT, "tests/fixtures/http_server.ts"),
    dir,
  ]);
  const m = await proc.waitForLine(/^\{"port":(\d+)\}$/, 15_000);
  return { proc, info: { port: Number(m[1]) } };
}

/** A relay on `hostname`; `args` adds flags (e.g. --https-port 0 --tls-cert ...). */
export async function startRelay(
  ns: string,
  hostname: string,
  args: string[] = [],
): Promise<
  Started<
    { url: string; port: number; stunPort: number; quicPort: number | null; web: string | null }
  >
> {
  const proc = spawnIn(ns, [
    ...TUN,
    "relay",
    "--listen",
    `${hostname}:0`,
    "--stun-port",
    "0",
    "--quic-port",
    "0",
    "--json",
    ...args,
  ]);
  const ev = await nextEvent(proc, "listening");
  const port = ev.port as number;
  return {
    proc,
    info: {
      url: `http://${hostname}:${port}`,
      port,
      stunPort: ev.stun_port as number,
      quicPort: (ev.quic_port as number | null) ?? null,
      web: (ev.web as string | null) ?? null,
    },
  };
}

export async function startHost(
  ns: string,
  port: number,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Started<{ code: string; join: string; link: string | null }>> {
  const proc = spawnIn(ns, [...TUN, "p2p", String(port), "--json", ...args], { env });
  const ev = await nextEvent(proc, "code");
  return {
    proc,
    info: { code: ev.code as string, join: ev.join as string, link: ev.link as string | null },
  };
}

/** Start a guest; `info` is its `ready` event plus the time from spawn to ready. */
export async function startGuest(
  ns: string,
  code: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Started<Json & { port: number; path: string; wall_ms: number }>> {
  const t0 = performance.now();
  const proc = spawnIn(ns, [...TUN, "p2p-join", code, "--json", ...args], { env });
  const ev = await nextEvent(proc, "ready", 30_000);
  return {
    proc,
    info: { ...ev, wall_ms: Math.round(performance.now() - t0) } as Json & {
      port: number;
      path: string;
      wall_ms: number;
    },
  };
}

/** Run the HTTP client fixture in `ns`; returns its JSON result. */
export async function client(ns: string, args: string[], timeoutMs = 120_000): Promise<Json> {
  const r = await exec(
    ns,
    [DENO, "run", "-A", path.join(ROOT, "tests/fixtures/http_client.ts"), ...args],
    { timeoutMs },
  );
  if (r.code !== 0) throw new Error(`client ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Json;
}

/** A file of `bytes` random bytes in a fresh temp dir; returns dir, name and sha256. */
export async function randomFile(
  bytes: number,
): Promise<{ dir: string; name: string; sha256: string }> {
  const { createHash, randomFillSync } = await import("node:crypto");
  const dir = await Deno.makeTempDir({ prefix: "tun-test-" });
  const name = "blob.bin";
  const file = await Deno.open(path.join(dir, name), { write: true, create: true });
  const hash = createHash("sha256");
  const chunk = new Uint8Array(1 << 20);
  for (let left = bytes; left > 0; left -= chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, left));
    randomFillSync(piece);
    hash.update(piece);
    let off = 0;
    while (off < piece.length) off += await file.write(piece.subarray(off));
  }
  file.close();
  return { dir, name, sha256: hash.digest("hex") };
}
