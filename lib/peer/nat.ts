/**
 * The NAT knowledge peers share: each runs the RFC 5780 probe against the relay
 * (in parallel with signalling, so it costs no wait) and tells the other what it
 * found. The guest uses both to skip a direct attempt that cannot work.
 */
import { probeNat } from "../nat/mod.ts";
import type { NatInfo } from "../signal/mod.ts";

export { impossibleDirect } from "./nat_verdict.ts";

/** The IP of an "ip:port" or "[ip]:port". */
function ipOf(address: string | null): string | null {
  return address?.replace(/:\d+$/, "").replace(/^\[|\]$/g, "") ?? null;
}

/**
 * Probe this machine's NAT against the relay's STUN ports; never rejects.
 * `early` gets a first report (filtering still unknown) as soon as the
 * mapping is known, ~800 ms before the full one: a symmetric mapping facing a
 * port-restricted peer already rules the direct path out.
 */
export async function probeNatInfo(
  relayUrl: string,
  welcome: { stun_port: number; stun_alt_port: number },
  early?: (info: NatInfo) => void,
): Promise<NatInfo> {
  try {
    const r = await probeNat({
      host: new URL(relayUrl).hostname,
      port: welcome.stun_port,
      altPort: welcome.stun_alt_port || undefined,
      onMapping: early &&
        ((m) =>
          early({
            udp: true,
            mapping: m.mapping,
            filtering: null,
            mapping_stable: null,
            public_ip: ipOf(m.public_address),
          })),
    });
    const ip = ipOf(r.public_address);
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
