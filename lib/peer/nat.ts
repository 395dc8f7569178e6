/**
 * The NAT knowledge peers share: each runs the RFC 5780 probe against the relay
 * (in parallel with signalling, so it costs no wait) and tells the other what it
 * found. The guest uses both to skip a direct attempt that cannot work.
 */
import { probeNat } from "../nat/mod.ts";
import type { NatInfo } from "../signal/mod.ts";

export { impossibleDirect } from "./nat_verdict.ts";

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
