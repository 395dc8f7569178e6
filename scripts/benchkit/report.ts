/**
 * What the bench prints: the machine, one table (a row per path), the notes
 * that say how each row was made, and issue 8's targets as ratios of figures
 * from the same run, each marked met or not met.
 */
import os from "node:os";
import type { Figures } from "./measure.ts";

export interface Row {
  /** raw, socat, ssh, dc, quic, relay, quic-relay: what the targets look rows up by. */
  key: string;
  label: string;
  /** Which network the row ran in. */
  where: string;
  /** How its path was made (e.g. the ICE candidate pair). */
  detail: string;
  figures: Figures | null;
  /** Why the row could not be measured. */
  error?: string;
}

/** A time to first byte measured on its own (no table row), e.g. across two NATs. */
export interface FirstByte {
  what: string;
  ms: number | null;
  detail: string;
}

export interface Target {
  what: string;
  /** The figures compared, as printed. */
  value: string;
  target: string;
  met: boolean | null;
}

/** The machine, and how busy it was: call before the run. */
export async function machine(): Promise<Record<string, string | number>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  return {
    cores: navigator.hardwareConcurrency,
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "?",
    ram_gib: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    /** Other work on the machine when the run began (1-minute load average). */
    load: Math.round(os.loadavg()[0] * 10) / 10,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
  };
}

const dash = "—";
const fixed = (digits: number) => (x: number | null) => x === null ? dash : x.toFixed(digits);
const rate = (x: number | null) => x === null ? dash : x.toFixed(x < 100 ? 1 : 0);

const COLUMNS: [string, (f: Figures) => string][] = [
  ["1 stream MB/s", (f) => rate(f.mbps1)],
  ["8 streams MB/s", (f) => rate(f.mbps8)],
  ["p50 ms", (f) => fixed(3)(f.p50Ms)],
  ["p99 ms", (f) => fixed(3)(f.p99Ms)],
  ["req/s, 64 conns", (f) => fixed(0)(f.rps)],
  ["start → 1st byte ms", (f) => fixed(0)(f.firstByteMs)],
  ["peak RSS host MB", (f) => fixed(0)(f.rssHostMb)],
  ["peak RSS guest MB", (f) => fixed(0)(f.rssGuestMb)],
  ["relay CPU s/GB", (f) => fixed(2)(f.relayCpuSPerGb)],
];

/** The table as Markdown, padded so it also reads as plain text. */
function table(rows: Row[]): string {
  const cells = [
    ["path", ...COLUMNS.map(([title]) => title)],
    ...rows.map((r) => [r.label, ...COLUMNS.map(([, cell]) => r.figures ? cell(r.figures) : dash)]),
  ];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => [...row[i]].length)));
  const line = (row: string[]) =>
    "| " + row.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ") +
    " |";
  const rule = "|" + widths.map((w, i) => i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")
    .join("|") +
    "|";
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join("\n");
}

/**
 * Issue 8's targets, from this run's figures. Throughput targets are ratios
 * that should reach 1 (as fast as ssh -L; 110 MB/s, what a DataChannel pair
 * moves inside one process here); `idle` is how many streams were open for the
 * memory target.
 */
export function targets(rows: Row[], firstBytes: FirstByte[], idle: number): Target[] {
  const f = (key: string) => rows.find((r) => r.key === key)?.figures ?? null;
  const planes = [["DataChannel", f("dc")], ["QUIC", f("quic")]] as const;
  const ssh = f("ssh");
  const raw = f("raw");
  const out: Target[] = [];
  const ratio = (what: string, a: number | undefined, b: number | undefined) => {
    const r = a !== undefined && b !== undefined ? a / b : null;
    out.push({
      what,
      value: r === null ? dash : `${rate(a!)} / ${rate(b!)} MB/s = ${r.toFixed(2)}×`,
      target: "≥ 1×",
      met: r === null ? null : r >= 1,
    });
  };
  for (const [name, t] of planes) {
    ratio(`${name} / ssh -L, 1 stream`, t?.mbps1, ssh?.mbps1);
    ratio(`${name} / ssh -L, 8 streams`, t?.mbps8, ssh?.mbps8);
  }
  ratio("DataChannel / 110 MB/s, 1 stream", f("dc")?.mbps1, 110);
  for (const [name, t] of planes) {
    const added = t && raw ? t.p50Ms - raw.p50Ms : null;
    out.push({
      what: `p50 added over raw TCP, ${name}`,
      value: added === null
        ? dash
        : `${t!.p50Ms.toFixed(3)} − ${raw!.p50Ms.toFixed(3)} = ${added.toFixed(3)} ms`,
      target: "≤ 0.5 ms",
      met: added === null ? null : added <= 0.5,
    });
  }
  for (const fb of firstBytes) {
    out.push({
      what: `p2p-join → 1st byte, ${fb.what}`,
      value: fb.ms === null ? dash : `${fb.ms.toFixed(0)} ms`,
      target: "≤ 500 ms",
      met: fb.ms === null ? null : fb.ms <= 500,
    });
  }
  for (const [name, t] of planes) {
    const { host, guest } = t?.idleMemory ?? { host: null, guest: null };
    const mem = (m: { before: number; open: number }) =>
      `${m.open.toFixed(0)} (+${(m.open - m.before).toFixed(0)})`;
    out.push({
      what: `RSS, ${idle} open streams, ${name} host / guest`,
      value: host && guest ? `${mem(host)} / ${mem(guest)} MB` : dash,
      target: "≤ 150 MB each",
      met: host && guest ? Math.max(host.open, guest.open) <= 150 : null,
    });
  }
  return out;
}

/** Everything the bench prints without --json. */
export function textReport(r: {
  machine: Record<string, string | number>;
  plan: {
    mb: number;
    runs: number;
    streams: number;
    requests: number;
    connections: number;
    rpsSeconds: number;
  };
  quick: boolean;
  rows: Row[];
  targets: Target[];
  seconds: number;
}): string {
  const { machine: m, plan: p } = r;
  const lines = [
    `tun bench${r.quick ? " --quick" : ""}: ${m.cores} cores ${m.cpu}, ${m.ram_gib} GiB RAM, ` +
    `Linux ${m.kernel}, Deno ${m.deno}, ${m.date}, load ${m.load} at start`,
    `1 stream: ${p.mb} MB download (median of ${p.runs}); ${p.streams} streams: ` +
    `${p.streams} × ${p.mb / p.streams} MB at once; p50/p99: ${p.requests} sequential GETs ` +
    `on one connection; req/s: wrk, ${p.connections} connections, ${p.rpsSeconds} s`,
    "",
    table(r.rows),
    "",
  ];
  let where = "";
  for (const row of r.rows) {
    if (row.where !== where) lines.push(`  ${(where = row.where)}:`);
    lines.push(`    ${row.label}: ${row.error ? `not measured: ${row.error}` : row.detail}`);
  }
  lines.push(
    "  MB/s = 10^6 bytes/s. Memory in MiB: RSS of a lone process; PSS summed where a",
    "  forwarder forks per connection (socat, sshd). Relay CPU: user + system seconds",
    "  per 10^9 bytes downloaded through the relay.",
    "",
    "targets (issue 8), from this run:",
    targetLines(r.targets),
    "",
    `bench took ${r.seconds} s`,
  );
  return lines.join("\n");
}

function targetLines(list: Target[]): string {
  const w = (pick: (t: Target) => string) => Math.max(...list.map((t) => [...pick(t)].length));
  const [a, b, c] = [w((t) => t.what), w((t) => t.value), w((t) => t.target)];
  return list.map((t) =>
    `  ${t.what.padEnd(a)}  ${t.value.padStart(b)}  ${t.target.padEnd(c)}  ${
      t.met === null ? "not measured" : t.met ? "met" : "NOT MET"
    }`
  ).join("\n");
}
