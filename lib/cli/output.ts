/**
 * What the CLI prints. With --json: one JSON object per line on stdout, each
 * with an "event" field. Otherwise: short aligned lines for a person, coloured
 * only when stdout is a terminal. Errors go to stderr in human mode.
 */
import process from "node:process";

export type Event = { event: string; [field: string]: unknown };

export class Output {
  readonly json: boolean;
  readonly #color: boolean;

  constructor(options: { json: boolean; color?: boolean }) {
    this.json = options.json;
    this.#color = options.color ?? (!!process.stdout.isTTY && !process.env.NO_COLOR);
  }

  /** An event: JSON line in --json mode, else the human line (if any). */
  emit(event: Event, human?: string): void {
    if (this.json) process.stdout.write(JSON.stringify(event) + "\n");
    else if (human !== undefined) process.stdout.write(human + "\n");
  }

  /** A line only a person wants (nothing in --json mode). */
  say(line: string): void {
    if (!this.json) process.stdout.write(line + "\n");
  }

  /** A runtime error: `error` event or `tun: message` on stderr. */
  error(message: string): void {
    if (this.json) process.stdout.write(JSON.stringify({ event: "error", message }) + "\n");
    else process.stderr.write(`tun: ${message}\n`);
  }

  bold(s: string): string {
    return this.#color ? `\x1b[1m${s}\x1b[22m` : s;
  }
  green(s: string): string {
    return this.#color ? `\x1b[32m${s}\x1b[39m` : s;
  }
  yellow(s: string): string {
    return this.#color ? `\x1b[33m${s}\x1b[39m` : s;
  }
  dim(s: string): string {
    return this.#color ? `\x1b[2m${s}\x1b[22m` : s;
  }
}

/** "1.5 MB", "320 B": decimal units, as network tools print. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}
