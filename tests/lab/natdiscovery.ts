/**
 * Reading the report of coturn's `turnutils_natdiscovery -m -f` (coturn 4.6).
 *
 * The tool prints a section per test, each ending in a boxed verdict:
 *
 *   -= Mapping Behavior Discovery =-
 *   ... RFC 5780 response N / IPv4. UDP reflexive addr: 198.18.0.12:40264 ...
 *   NAT with Endpoint Independent Mapping!
 *   -= Filtering Behavior Discovery =-
 *   ... STUN receive timeout..
 *   NAT with Address Dependent Filtering!
 *
 * A section with no answer from the server has no verdict, only a timeout line.
 * "No NAT! (Endpoint Independent Mapping)" appears only when the local address
 * equals the reflexive one, which needs `-L`; it is read as endpoint-independent.
 */
import path from "node:path";
import type { Lab } from "./netns.ts";
import type { Filtering, Mapping } from "./nat.ts";

export interface NatDiscoveryReport {
  /** RFC 4787 §4.1 verdict of the mapping section; null when there was none. */
  mapping: Mapping | "address-dependent" | null;
  /** RFC 4787 §5 verdict of the filtering section; null when there was none. */
  filtering: Filtering | null;
  /** Every "UDP reflexive addr" the server reported, as "ip:port", in order. */
  reflexive: string[];
  /** How many requests went unanswered ("STUN receive timeout"). */
  timeouts: number;
}

/** RFC 4787 uses the same three words for mapping (§4.1) and filtering (§5). */
const KINDS: Record<string, Filtering> = {
  "endpoint independent": "endpoint-independent",
  "address dependent": "address-dependent",
  "address and port dependent": "address-and-port-dependent",
};

/** Parse natdiscovery's stdout. Unknown verdict wording throws, naming the line. */
export function parseNatDiscovery(stdout: string): NatDiscoveryReport {
  const report: NatDiscoveryReport = { mapping: null, filtering: null, reflexive: [], timeouts: 0 };
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    const reflexive = /UDP reflexive addr:\s*([\d.]+:\d+)/.exec(line);
    if (reflexive) report.reflexive.push(reflexive[1]);
    if (/STUN receive timeout/i.test(line)) report.timeouts++;
    if (/^No NAT!/.test(line)) report.mapping ??= "endpoint-independent";
    const verdict = /^NAT with (.+) (Mapping|Filtering)!$/.exec(line);
    if (!verdict) continue;
    const kind = KINDS[verdict[1].toLowerCase()];
    if (!kind) throw new Error(`natdiscovery: unknown verdict ${JSON.stringify(line)}`);
    if (verdict[2] === "Mapping") report.mapping = kind;
    else report.filtering = kind;
  }
  return report;
}

export const STUN_PORT = 3478;
export const ALT_PORT = 3479;

/** The STUN server's argv: both lab internet addresses, both ports, UDP only. */
export function serverCommand(lab: Lab, dir: string): string[] {
  return [
    "turnserver",
    "-n", // no configuration file: everything is on this command line
    "--no-cli",
    "--stun-only",
    "--no-auth",
    "--no-tcp",
    "--no-tls",
    "--no-dtls",
    "--listening-ip",
    lab.internet.ip,
    "--listening-ip",
    lab.internet.altIp,
    "--listening-port",
    String(STUN_PORT),
    "--alt-listening-port",
    String(ALT_PORT),
    // Keep coturn off the system's database and pid file.
    "--userdb",
    path.join(dir, "turndb"),
    "--pidfile",
    path.join(dir, "turnserver.pid"),
    "--log-file",
    "stdout",
  ];
}

/** The discovery client's argv. */
export function clientCommand(lab: Lab): string[] {
  return ["turnutils_natdiscovery", "-m", "-f", "-p", String(STUN_PORT), lab.internet.ip];
}
