/**
 * Running programs inside a network namespace: `exec` for a command that runs to
 * completion, `spawnIn` for a long-lived one (a relay, a peer) whose stdout lines a
 * test waits on. Both go through `ip netns exec NS ...` and `node:child_process`,
 * so the harness needs nothing runtime-specific.
 *
 * A spawned program leads its own process group (`detached`), so killing the group
 * also ends whatever it started; the lab additionally kills every pid left in its
 * namespaces (`ip netns pids`) before deleting them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import process from "node:process";

/** Options shared by `exec` and `spawnIn`. */
export interface RunOptions {
  /** Extra environment variables, merged over this process's environment. */
  env?: Record<string, string>;
  /** Working directory. Default: this process's. */
  cwd?: string;
}

/** Options for a command that runs to completion. */
export interface ExecOptions extends RunOptions {
  /** Written to the command's stdin, which is then closed. Default: nothing. */
  input?: string;
  /** Kill the command (its whole process group) after this long. Default: 10 000 ms. */
  timeoutMs?: number;
}

/** How a command ended and what it printed. */
export interface ExecResult {
  /** Exit code; 128 + signal number when it was killed by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

/** How a spawned program ended. */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** A long-lived program running in a namespace. Disposing it kills it. */
export interface LabProcess extends AsyncDisposable {
  /** Pid of the program (also its process group id). */
  readonly pid: number;
  /** Namespace it runs in. */
  readonly ns: string;
  /** Every complete stdout line so far, in order. */
  readonly lines: readonly string[];
  /** Everything it wrote to stderr so far (the last 64 KiB), for diagnostics. */
  readonly stderr: string;
  /** Settles once the program has exited and its output is fully read. */
  readonly exited: Promise<ExitStatus>;
  /**
   * Resolves with the match of the next stdout line that matches `pattern`.
   * Lines are consumed: each call starts after the line the previous call
   * returned, so a test can walk through a program's output in order. Rejects
   * (with the output seen so far) on timeout or if the program exits first.
   */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Write text to the program's stdin. */
  write(text: string): void;
  /** Signal the process group, escalate to SIGKILL after 2 s, and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<ExitStatus>;
}

const STDERR_LIMIT = 64 * 1024;

/** Run `cmd` inside namespace `ns` to completion. Never throws for a non-zero exit. */
export function exec(ns: string, cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
  return run(["ip", "netns", "exec", ns, ...cmd], options);
}

/** Run a command in the current namespace (used for `ip` itself). */
export function run(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { input, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : undefined,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: string[] = [];
    const err: string[] = [];
    child.stdout!.setEncoding("utf8").on("data", (s: string) => out.push(s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => err.push(s));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(" ")}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`${argv.join(" ")}: timed out after ${timeoutMs} ms`));
        return;
      }
      resolve({
        code: code ?? 128 + signalNumber(signal),
        stdout: out.join(""),
        stderr: err.join(""),
      });
    });
    child.stdin!.on("error", () => {}); // the command may exit without reading stdin
    child.stdin!.end(input ?? "");
  });
}

/** Like `run`, but throws with the command's stderr when it exits non-zero. */
export async function runChecked(argv: string[], options: ExecOptions = {}): Promise<string> {
  const result = await run(argv, options);
  if (result.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Start `cmd` inside namespace `ns` as the leader of a new process group. */
export function spawnIn(ns: string, cmd: string[], options: RunOptions = {}): LabProcess {
  const child = spawn("ip", ["netns", "exec", ns, ...cmd], {
    cwd: options.cwd,
    env: options.env ? { ...process.env, ...options.env } : undefined,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new SpawnedProcess(ns, cmd, child);
}

class SpawnedProcess implements LabProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<ExitStatus>;
  #stderr = "";
  #partial = "";
  #cursor = 0;
  #status: ExitStatus | null = null;
  #wakeups = new Set<() => void>();

  constructor(readonly ns: string, readonly cmd: string[], readonly child: ChildProcess) {
    child.stdout!.setEncoding("utf8").on("data", (s: string) => this.#onStdout(s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-STDERR_LIMIT);
    });
    child.stdin!.on("error", () => {}); // writes after exit are dropped, not thrown
    this.exited = new Promise((resolve) => {
      child.on("error", (e) => {
        this.#stderr += `\nspawn failed: ${e.message}`;
        this.#finish({ code: null, signal: null }, resolve);
      });
      child.on("close", (code, signal) => this.#finish({ code, signal }, resolve));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stderr(): string {
    return this.#stderr;
  }

  waitForLine(pattern: RegExp, timeoutMs = 5_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        while (this.#cursor < this.lines.length) {
          const match = this.lines[this.#cursor++].match(pattern);
          if (match) return done(() => resolve(match));
        }
        if (this.#status) {
          done(() => reject(this.#failure(`exited (${describe(this.#status!)}) before`, pattern)));
        }
      };
      const timer = setTimeout(
        () => done(() => reject(this.#failure(`no line within ${timeoutMs} ms`, pattern))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#wakeups.delete(check);
        settle();
      };
      this.#wakeups.add(check);
      check();
    });
  }

  write(text: string): void {
    if (!this.#status) this.child.stdin!.write(text);
  }

  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitStatus> {
    if (this.#status) return this.#status;
    this.child.stdin!.destroy();
    killGroup(this.child, signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        killGroup(this.child, "SIGKILL");
        resolve();
      }, 2_000);
    });
    await Promise.race([this.exited, escalate]);
    clearTimeout(timer);
    return await this.exited;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.kill().then(() => {});
  }

  #onStdout(chunk: string) {
    const parts = (this.#partial + chunk).split("\n");
    this.#partial = parts.pop()!;
    this.lines.push(...parts);
    this.#wake();
  }

  #finish(status: ExitStatus, resolve: (s: ExitStatus) => void) {
    if (this.#status) return;
    if (this.#partial) this.lines.push(this.#partial);
    this.#partial = "";
    this.#status = status;
    this.child.stdin!.destroy();
    resolve(status);
    this.#wake();
  }

  #wake() {
    for (const wake of [...this.#wakeups]) wake();
  }

  #failure(what: string, pattern: RegExp): Error {
    return new Error(
      `[${this.ns}] ${this.cmd.join(" ")}: ${what} a stdout line matched ${pattern}\n` +
        `stdout:\n${this.lines.join("\n")}\nstderr:\n${this.#stderr}`,
    );
  }
}

/** Signal a child's whole process group; fall back to the child alone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? constants.signals[signal] ?? 0 : 0;
}

function describe(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}
