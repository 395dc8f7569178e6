/**
 * `tun debug nat-type`: before relying on it, tell a user whether a direct
 * path is likely. Asks the relay (over its WebSocket) for its STUN ports, then
 * runs the RFC 5780 probe against them (lib/nat).
 */
import { tokenParams } from "../auth/mod.ts";
import { SignalClient } from "../signal/mod.ts";
import { type NatReport, probeNat } from "../nat/mod.ts";
import type { Output } from "./output.ts";

export async function runNatType(
  relayUrl: string,
  out: Output,
  token?: string,
): Promise<number> {
  let stunPort: number;
  let altPort: number;
  try {
    const signal = await SignalClient.connect({
      relayUrl,
      timeoutMs: 5000,
      params: tokenParams(token),
    });
    stunPort = signal.welcome.stun_port;
    altPort = signal.welcome.stun_alt_port;
    signal.close();
  } catch (err) {
    out.error((err as Error).message);
    return 1;
  }
  let report: NatReport;
  try {
    report = await probeNat({ host: new URL(relayUrl).hostname, port: stunPort, altPort });
  } catch (err) {
    out.error(`NAT probe failed: ${(err as Error).message}`);
    return 1;
  }
  out.emit({ event: "nat-type", ...report });
  if (out.json) return 0;
  const yesNo = (v: boolean | null) => v === null ? "not determined" : v ? "yes" : "no";
  const rows: [string, string][] = [
    ["udp", report.udp ? "works" : "blocked (no answer over UDP)"],
    ["public", report.public_address ?? "unknown"],
    ["mapping", report.mapping ?? "not determined"],
    ["filtering", report.filtering ?? "not determined"],
    ["hairpin", yesNo(report.hairpin)],
    ["stable", yesNo(report.mapping_stable)],
  ];
  out.say(`${out.bold("tun debug nat-type")}  via ${new URL(relayUrl).hostname}:${stunPort}/udp`);
  for (const [k, v] of rows) out.say(`  ${k.padEnd(10)} ${v}`);
  out.say(`  ${"verdict".padEnd(10)} ${out.bold(report.verdict)}`);
  for (const u of report.untested) out.say(out.dim(`  not tested: ${u}`));
  out.say(out.dim(`  took ${report.elapsed_ms} ms`));
  return 0;
}
