/**
 * What the throughput harnesses (tests/rtc, tests/quic, tests/turn
 * throughput.ts) read from /proc: CPU per thread, the machine's busy time,
 * memory high-water marks and a namespace's UDP counters. Linux only.
 */
import { exec } from "../lab/process.ts";

/** USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const TICK = 100;

/** CPU seconds so far, per thread ("<who> <name>/<tid>") of some processes and of the machine. */
export interface CpuSnapshot {
  /** User + system seconds per thread. */
  threads: Map<string, number>;
  /** The system (kernel) part of each. */
  kernel: Map<string, number>;
  /** Busy and stolen (hypervisor) seconds of the whole machine, all cores. */
  busy: number;
  steal: number;
  /** performance.now() when taken. */
  at: number;
}

export async function cpuSnapshot(pids: Record<string, number>): Promise<CpuSnapshot> {
  const threads = new Map<string, number>();
  const kernel = new Map<string, number>();
  for (const [who, pid] of Object.entries(pids)) {
    for await (const e of Deno.readDir(`/proc/${pid}/task`)) {
      try {
        const stat = await Deno.readTextFile(`/proc/${pid}/task/${e.name}/stat`);
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        // Fields after the name: utime and stime are the 12th and 13th.
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        threads.set(`${who} ${name}/${e.name}`, (Number(f[11]) + Number(f[12])) / TICK);
        kernel.set(`${who} ${name}/${e.name}`, Number(f[12]) / TICK);
      } catch { /* thread gone */ }
    }
  }
  const [busy, , steal] = await machineBusy();
  return { threads, kernel, busy: busy / TICK, steal: steal / TICK, at: performance.now() };
}

/** [busy, total, steal] jiffies of all cores, from /proc/stat. */
export async function machineBusy(): Promise<[number, number, number]> {
  const f = (await Deno.readTextFile("/proc/stat")).split("\n")[0].split(/\s+/).slice(1).map(
    Number,
  );
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return [total - f[3] - f[4], total, f[7]];
}

/**
 * Wait until the machine was busy less than `maxBusy` (0..1) over a window
 * of `windowMs`, trying at most `tries` windows: others' work skews figures.
 */
export async function quiet(maxBusy: number, windowMs: number, tries: number): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const a = await machineBusy();
    await new Promise((r) => setTimeout(r, windowMs));
    const b = await machineBusy();
    if ((b[0] - a[0]) / (b[1] - a[1]) < maxBusy) return;
  }
}

/** A process's peak RSS (VmHWM), MiB. */
export function peakRssMb(pid: number): Promise<number> {
  return statusMb(pid, "VmHWM");
}

/** A process's RSS now (VmRSS), MiB. */
export function rssMb(pid: number): Promise<number> {
  return statusMb(pid, "VmRSS");
}

async function statusMb(pid: number, field: "VmHWM" | "VmRSS"): Promise<number> {
  return Math.round(await statusKb(pid, field) / 1024);
}

/** A field of /proc/<pid>/status in KiB (e.g. VmRSS, VmHWM); 0 once the process is gone. */
export async function statusKb(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** One of network namespace `ns`'s IPv4 UDP counters (/proc/net/snmp), e.g. RcvbufErrors; 0 if absent. */
export async function udpCounter(ns: string, name: string): Promise<number> {
  const text = (await exec(ns, ["cat", "/proc/net/snmp"])).stdout;
  const [names, values] = text.split("\n").filter((l) => l.startsWith("Udp: "));
  if (!names || !values) return 0;
  return Number(values.split(/\s+/)[names.split(/\s+/).indexOf(name)]);
}
