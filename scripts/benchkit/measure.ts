/**
 * The work every row does, the same for each path: idle connections held open
 * (memory read before and with them), one integrity check, downloads on one
 * stream and on parallel streams (curl), sequential small requests on one
 * keep-alive connection (curl), and requests per second at 64 concurrent
 * connections (wrk); peak memory of each side and the relay's CPU time are read
 * around it.
 */
import { nextEvent } from "../../tests/_util/tun.ts";
import { exec, spawnIn } from "../../tests/lab/process.ts";
import { type Path, PROBE } from "./paths.ts";
import { cpuSeconds, PeakRss, sideMemoryMb, udpDrops } from "./procfs.ts";

/** A file the app serves, and what it must hash to. */
export interface BenchFile {
  name: string;
  bytes: number;
  sha256: string;
}

/** How much work a row does. */
export interface Workload {
  /** Downloaded on one stream, `runs` times (median). */
  big: BenchFile;
  runs: number;
  /** Downloaded on `streams` streams at once. */
  part: BenchFile;
  streams: number;
  /** Sequential small GETs on one connection. */
  requests: number;
  /** wrk's run at `connections` concurrent connections. */
  rpsSeconds: number;
  connections: number;
  /** Idle connections held open while memory is read. */
  idle: number;
}

/** One row's figures; null where a figure does not apply to the path. */
export interface Figures {
  /** MB/s (10^6 bytes/s) on one stream: the median, and every run. */
  mbps1: number;
  mbps1Runs: number[];
  /** MB/s of all parallel streams together. */
  mbps8: number;
  p50Ms: number;
  p99Ms: number;
  /** TCP connections curl made for the sequential requests (1 = all on one). */
  latencyConnections: number;
  rps: number;
  /** wrk's socket errors and non-2xx responses, if any. */
  rpsErrors: string | null;
  firstByteMs: number | null;
  /** Peak resident memory (MiB) of the app's side and the user's side over the whole row. */
  rssHostMb: number | null;
  rssGuestMb: number | null;
  /** Memory of each side (MiB) before and while `idle` connections are open; null for raw TCP. */
  idleMemory: IdleMemory | null;
  /** Relay CPU (user + system) per 10^9 bytes downloaded, where bytes pass the relay. */
  relayCpuSPerGb: number | null;
  /** UDP datagrams dropped for a full receive buffer during the downloads. */
  udpDrops: number;
}

/** Memory (MiB) of each side of a fresh path, before and with the idle connections open. */
export interface IdleMemory {
  host: { before: number; open: number } | null;
  guest: { before: number; open: number } | null;
}

export async function measure(p: Path, w: Workload): Promise<Figures> {
  await using rss = new PeakRss([p.hostPids, p.guestPids]);
  const url = (what: string) => `http://127.0.0.1:${p.port}/${what}`;
  // First, while the processes are fresh: what the idle connections themselves cost.
  const idle = p.hostPids.length || p.guestPids.length ? await idleMemory(p, w.idle) : null;
  await verify(p, url(`file/${w.part.name}`), w.part);

  const cpuBefore = p.relayPid ? await cpuSeconds(p.relayPid) : 0;
  const dropsBefore = await sumDrops(p);
  const runs: number[] = [];
  for (let i = 0; i < w.runs; i++) {
    runs.push(await downloadOne(p, url(`file/${w.big.name}`), w.big));
  }
  const mbps8 = await downloadParallel(p, url(`file/${w.part.name}`), w.part, w.streams);
  const udp = await sumDrops(p) - dropsBefore;
  const relayCpu = p.relayPid ? await cpuSeconds(p.relayPid) - cpuBefore : null;
  const movedGb = (w.big.bytes * w.runs + w.part.bytes * w.streams) / 1e9;

  const latency = await sequentialRequests(p, url(`hello/[1-${w.requests}]`), w.requests);
  const rps = await requestsPerSecond(p, url("hello/1"), w.connections, w.rpsSeconds);
  const [rssHostMb, rssGuestMb] = await rss.peaks();
  return {
    mbps1: median(runs),
    mbps1Runs: runs,
    mbps8,
    ...latency,
    ...rps,
    firstByteMs: p.firstByteMs ?? null,
    rssHostMb,
    rssGuestMb,
    idleMemory: idle,
    relayCpuSPerGb: relayCpu === null ? null : relayCpu / movedGb,
    udpDrops: udp,
  };
}

/** Download once through the path and compare the hash (untimed; also warms the path up). */
async function verify(p: Path, url: string, file: BenchFile): Promise<void> {
  const r = await exec(p.ns, ["sh", "-c", `curl -sSf '${url}' | sha256sum`], {
    timeoutMs: 120_000,
  });
  const sha = r.stdout.split(" ")[0];
  if (r.code !== 0 || sha !== file.sha256) {
    throw new Error(`${url} came through corrupted (sha256 ${sha}, exit ${r.code}): ${r.stderr}`);
  }
}

/** MB/s of one download, by curl's own clock. */
async function downloadOne(p: Path, url: string, file: BenchFile): Promise<number> {
  const out = await curl(p, ["-o", "/dev/null", "-w", "%{size_download} %{time_total}\n", url]);
  const [bytes, seconds] = out.trim().split(" ").map(Number);
  if (bytes !== file.bytes) throw new Error(`${url}: ${bytes} bytes, expected ${file.bytes}`);
  return bytes / 1e6 / seconds;
}

/** MB/s of `n` downloads at once: all bytes over the slowest transfer's time. */
async function downloadParallel(p: Path, url: string, file: BenchFile, n: number): Promise<number> {
  const each = Array.from({ length: n }, () => ["-o", "/dev/null", url]).flat();
  const out = await curl(p, [
    "--parallel",
    "--parallel-immediate",
    "--parallel-max",
    String(n),
    "-w",
    "%{size_download} %{time_total}\n",
    ...each,
  ]);
  const transfers = out.trim().split("\n").map((line) => line.split(" ").map(Number));
  const bytes = transfers.reduce((sum, [b]) => sum + b, 0);
  if (transfers.length !== n || bytes !== file.bytes * n) {
    throw new Error(`${n} parallel downloads of ${url} returned ${bytes} bytes:\n${out}`);
  }
  return bytes / 1e6 / Math.max(...transfers.map(([, s]) => s));
}

/** p50/p99 of `n` sequential GETs on one keep-alive connection (curl, a URL range). */
async function sequentialRequests(p: Path, urlRange: string, n: number) {
  // Bodies go to stdout; the per-request timings to stderr.
  const timings = "%{stderr}%{time_total} %{num_connects}\n";
  const r = await exec(p.ns, ["curl", "-sS", "-w", timings, urlRange], { timeoutMs: 300_000 });
  const rows = r.stderr.trim().split("\n").map((line) => line.split(" ").map(Number));
  if (r.code !== 0 || rows.length !== n || rows.some((row) => row.length !== 2)) {
    throw new Error(`curl ${urlRange} exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
  }
  const ms = rows.map(([s]) => s * 1000).sort((a, b) => a - b);
  const q = (f: number) => ms[Math.min(ms.length - 1, Math.floor(f * ms.length))];
  return {
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    latencyConnections: rows.reduce((sum, [, c]) => sum + c, 0),
  };
}

/** wrk's requests per second at `connections` concurrent keep-alive connections. */
async function requestsPerSecond(p: Path, url: string, connections: number, seconds: number) {
  const r = await exec(p.ns, [
    "wrk",
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    "--timeout",
    "10s",
    url,
  ], { timeoutMs: (seconds + 30) * 1000 });
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
  if (r.code !== 0 || !rps) throw new Error(`wrk exited ${r.code}: ${r.stdout}${r.stderr}`);
  const errors = r.stdout.split("\n").filter((l) => /Socket errors|Non-2xx/.test(l));
  return {
    rps: Number(rps),
    rpsErrors: errors.length ? errors.map((l) => l.trim()).join("; ") : null,
  };
}

/**
 * Memory of each side before and with `n` idle connections open through the
 * path, read once the app holds all `n` (each forwarder has dialled it).
 */
async function idleMemory(p: Path, n: number): Promise<IdleMemory> {
  const sides = [p.hostPids, p.guestPids];
  const before = await Promise.all(sides.map(sideMemoryMb));
  const already = await appConnections(p);
  await using holder = spawnIn(p.ns, [...PROBE, "hold", String(p.port), String(n)]);
  await nextEvent(holder, "holding", 60_000);
  const deadline = performance.now() + 30_000;
  for (;;) {
    const open = await appConnections(p) - already;
    if (open >= n) break;
    if (performance.now() > deadline) {
      throw new Error(`only ${open} of ${n} idle connections reached the app`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const open = await Promise.all(sides.map(sideMemoryMb));
  const side = (i: number) => sides[i].length ? { before: before[i], open: open[i] } : null;
  return { host: side(0), guest: side(1) };
}

/** Established TCP connections to the app's port, counted on the app's side. */
async function appConnections(p: Path): Promise<number> {
  const r = await exec(p.app.ns, ["ss", "-Htn", "state", "established", `sport = :${p.app.port}`]);
  return r.stdout.split("\n").filter((l) => l.trim()).length;
}

async function curl(p: Path, args: string[]): Promise<string> {
  const r = await exec(p.ns, ["curl", "-sSf", ...args], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`curl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function sumDrops(p: Path): Promise<number> {
  let drops = 0;
  for (const ns of p.namespaces) drops += await udpDrops(ns);
  return drops;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}
