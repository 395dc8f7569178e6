/**
 * Live status of a running host, for `tun p2p status <code>`: the host rewrites
 * a small JSON file (atomically) whenever something changes and every second
 * while guests are connected; the status command reads it. The file lives in a
 * per-user directory and names the host's pid, so a stale file is detected.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";

export interface GuestStatus {
  guest: number;
  from: string;
  /** "connecting", "direct" or "relay". */
  path: string;
  /** Why this path: "connected", "p2p timeout", "ICE failed", ... */
  reason: string;
  rtt_ms: number | null;
  bytes_sent: number;
  bytes_received: number;
  since: string;
}

export interface HostStatus {
  name: string;
  pid: number;
  port: number;
  relay: string;
  started: string;
  guests: GuestStatus[];
}

/** Per-user directory for status files (env TUN_STATUS_DIR overrides). */
export function statusDir(): string {
  if (process.env.TUN_STATUS_DIR) return process.env.TUN_STATUS_DIR;
  const base = process.env.XDG_RUNTIME_DIR || os.tmpdir();
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return path.join(base, `tun-${uid}`);
}

function fileFor(name: string): string {
  return path.join(statusDir(), `${name}.json`);
}

/** Write the host's status atomically (best effort: status is a convenience). */
export function writeStatus(status: HostStatus): void {
  try {
    const dir = statusDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = fileFor(status.name);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(status) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch { /* a read-only or full disk must not stop the tunnel */ }
}

export function removeStatus(name: string): void {
  try {
    fs.unlinkSync(fileFor(name));
  } catch { /* already gone */ }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/** The status of the host running session `name` on this machine, or null. */
export function readStatus(name: string): HostStatus | null {
  let text: string;
  try {
    text = fs.readFileSync(fileFor(name), "utf8");
  } catch {
    return null;
  }
  try {
    const status = JSON.parse(text) as HostStatus;
    if (typeof status.pid !== "number" || !alive(status.pid)) return null;
    return status;
  } catch {
    return null;
  }
}
