/**
 * What /proc says about the bench's processes: memory of each side of a path (a
 * forwarder that forks per connection, such as socat or sshd, counts with its
 * children), CPU time, and UDP receive-buffer drops in a namespace.
 */
import { statusKb, udpCounter } from "../../tests/_util/procstat.ts";

const CLOCK_TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** `pid` and every process below it. Processes that exit meanwhile are skipped. */
async function processTree(pid: number): Promise<number[]> {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      for await (const entry of Deno.readDir(`/proc/${tree[i]}/task`)) {
        const children = await Deno.readTextFile(`/proc/${tree[i]}/task/${entry.name}/children`);
        tree.push(...children.split(" ").filter(Boolean).map(Number));
      }
    } catch { /* gone */ }
  }
  return tree;
}

/**
 * Memory of every process under `roots`, in MiB: resident (VmRSS) when the
 * roots are alone; proportional (PSS, shared pages split between the processes
 * sharing them) when they have children, since a forked child's RSS counts
 * its parent's pages again.
 */
export async function sideMemoryMb(roots: readonly number[]): Promise<number> {
  const pids: number[] = [];
  for (const root of roots) pids.push(...await processTree(root));
  let kb = 0;
  for (const pid of pids) {
    kb += pids.length === roots.length ? await statusKb(pid, "VmRSS") : await pssKb(pid);
  }
  return kb / 1024;
}

async function pssKb(pid: number): Promise<number> {
  try {
    const rollup = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
    return Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** User + system CPU seconds the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Peak memory of each side of a path while the bench works on it: sampled every
 * 100 ms (`sideMemoryMb`), and never below the roots' own high-water mark
 * (VmHWM), which catches a lone process's peak between samples.
 */
export class PeakRss implements AsyncDisposable {
  readonly #sides: (readonly number[])[];
  readonly #peaks: number[];
  readonly #timer: ReturnType<typeof setInterval>;
  #sampling: Promise<void> = Promise.resolve();

  constructor(sides: (readonly number[])[]) {
    this.#sides = sides;
    this.#peaks = sides.map(() => 0);
    this.#timer = setInterval(() => {
      this.#sampling = this.#sampling.then(() => this.#sample());
    }, 100);
  }

  /** Peak MiB of each side, in the order given; null for a side with no process. */
  async peaks(): Promise<(number | null)[]> {
    await this.#sample();
    return Promise.all(this.#sides.map(async (roots, i) => {
      if (!roots.length) return null;
      let hwm = 0;
      for (const pid of roots) hwm += await statusKb(pid, "VmHWM");
      return Math.max(this.#peaks[i], hwm / 1024);
    }));
  }

  async #sample(): Promise<void> {
    for (const [i, roots] of this.#sides.entries()) {
      if (roots.length) this.#peaks[i] = Math.max(this.#peaks[i], await sideMemoryMb(roots));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#timer);
    await this.#sampling;
  }
}

/**
 * UDP datagrams the kernel dropped in `ns` for a full receive buffer, so far.
 * libwebrtc leaves its sockets at net.core.rmem_default, and every drop costs
 * the DataChannel's SCTP association a retransmission: most of its spread.
 */
export function udpDrops(ns: string): Promise<number> {
  return udpCounter(ns, "RcvbufErrors");
}
