/**
 * The NAT knowledge peers share: each runs the RFC 5780 probe against the relay
 * (in parallel with signalling, so it costs no wait) and tells the other what it
 * found. The guest uses both to skip a direct attempt that cannot work.
 */
import { directPossible, probeNat } from "../nat/mod.ts";
import type { NatInfo } from "../signal/mod.ts";

/** Probe this machine's NAT against the relay's STUN ports; never rejects. */
export async function probeNatInfo(
  relayUrl: string,
  welcome: { stun_port: number; stun_alt_port: number },
): Promise<NatInfo> {
  try {
    const r = await probeNat({
      host: new URL(relayUrl).hostname,
      port: welcome.stun_port,
      altPort: welcome.stun_alt_port || undefined,
    });
    const ip = r.public_address?.replace(/:\d+$/, "").replace(/^\[|\]$/g, "") ?? null;
    return {
      udp: r.udp,
      mapping: r.mapping,
      filtering: r.filtering,
      mapping_stable: r.mapping_stable,
      public_ip: ip,
    };
  } catch {
    return { udp: false, mapping: null, filtering: null, mapping_stable: null, public_ip: null };
  }
}

/** "symmetric", "port-restricted", ...: the usual names, for a reason a person reads. */
function kind(n: NatInfo): string {
  if (!n.udp) return "UDP-blocked";
  if (n.mapping && n.mapping !== "endpoint-independent") return "symmetric";
  if (n.filtering === "address-and-port-dependent") return "port-restricted";
  if (n.filtering === "address-dependent") return "address-restricted";
  if (n.filtering === "endpoint-independent") return "full-cone";
  return "unknown";
}

/**
 * Why a direct path cannot work, or null when it might. Only certain failure
 * counts: both peers reached the relay over UDP, their NATs are known well
 * enough to rule hole punching out, and they are not behind the same public
 * IP (peers on one LAN can still meet on their private addresses).
 */
export function impossibleDirect(own: NatInfo, host: NatInfo): string | null {
  if (!own.udp || !host.udp) return null; // the relay's UDP may be blocked, not the LAN's
  if (own.public_ip !== null && own.public_ip === host.public_ip) return null;
  if (directPossible(own, host) !== false) return null;
  const a = kind(own);
  const b = kind(host);
  return a === "symmetric" && b === "symmetric"
    ? "both peers are behind symmetric NATs"
    : `hole punching cannot work: ${a} NAT here, ${b} NAT at the host`;
}
