/** `tun p2p status <code>`: what the host running <code> on this machine is doing. */
import { readStatus } from "../peer/status.ts";
import { formatBytes, type Output } from "./output.ts";

export function runStatus(name: string, out: Output): number {
  const status = readStatus(name);
  if (!status) {
    out.error(`no host is running ${name} on this machine (tun p2p status reads the local host)`);
    return 1;
  }
  out.emit({ event: "status", ...status }, undefined);
  if (out.json) return 0;
  out.say(
    `${
      out.bold("tun p2p")
    }  ${name}  sharing 127.0.0.1:${status.port}  relay ${status.relay}  pid ${status.pid}`,
  );
  if (status.guests.length === 0) {
    out.say("  no guests connected");
    return 0;
  }
  const rows = [["guest", "path", "why", "rtt", "sent", "received", "from"]];
  for (const g of status.guests) {
    rows.push([
      String(g.guest),
      g.path,
      g.reason,
      g.rtt_ms === null ? "-" : `${g.rtt_ms} ms`,
      formatBytes(g.bytes_sent),
      formatBytes(g.bytes_received),
      g.from,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) out.say("  " + r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  return 0;
}
