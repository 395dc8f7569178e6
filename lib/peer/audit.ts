/**
 * The host's audit log: one JSON line per accepted or rejected guest, appended
 * to a file the host names at start. Accepted guests are written when they
 * leave, with the bytes they moved; rejected ones at once, with the reason.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";

export interface AuditEntry {
  time: string;
  session: string;
  outcome: "accepted" | "rejected";
  peer_address: string;
  path: string | null;
  bytes_sent: number;
  bytes_received: number;
  reason: string;
}

/** Default: $XDG_STATE_HOME/tun/audit.jsonl (~/.local/state/tun/audit.jsonl). */
export function defaultAuditPath(): string {
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  return path.join(state, "tun", "audit.jsonl");
}

export class AuditLog {
  readonly path: string;
  #warned = false;
  readonly #onError: (message: string) => void;

  constructor(file: string, onError: (message: string) => void) {
    this.path = path.resolve(file);
    this.#onError = onError;
    fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o700 });
    // Fail at start, not at the first guest, if the file cannot be written.
    fs.appendFileSync(this.path, "", { mode: 0o600 });
  }

  write(entry: Omit<AuditEntry, "time">): void {
    const line = JSON.stringify({ time: new Date().toISOString(), ...entry }) + "\n";
    try {
      fs.appendFileSync(this.path, line, { mode: 0o600 });
    } catch (err) {
      if (!this.#warned) this.#onError(`audit log ${this.path}: ${(err as Error).message}`);
      this.#warned = true;
    }
  }
}
