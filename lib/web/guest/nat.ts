/**
 * What a page can learn about its own NAT: browsers have no raw UDP, but ICE
 * gathering against the relay's two STUN ports shows the mapping. One public
 * port for both servers: endpoint-independent mapping; two: the NAT maps per
 * destination (symmetric). Filtering cannot be tested from a page, so it
 * stays unknown, and lib/peer's verdict only rules out what is certain anyway.
 */
import type { NatInfo } from "../../signal/mod.ts";

/** How long to gather; what is known by then counts. */
const GATHER_MS = 1500;

export async function probeBrowserNat(
  host: string,
  port: number,
  altPort: number,
): Promise<NatInfo> {
  const unknown: NatInfo = {
    udp: false,
    mapping: null,
    filtering: null,
    mapping_stable: null,
    public_ip: null,
  };
  if (!altPort) return unknown;
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host; // IPv6 literal
  const pc = new RTCPeerConnection({
    iceServers: [{ urls: [`stun:${h}:${port}`] }, { urls: [`stun:${h}:${altPort}`] }],
  });
  const ports = new Map<string, Set<string>>(); // public IP -> mapped ports
  try {
    pc.createDataChannel("probe");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GATHER_MS);
      pc.onicecandidate = (ev) => {
        if (!ev.candidate) {
          clearTimeout(timer);
          return resolve();
        }
        const f = ev.candidate.candidate.split(" ");
        if (f[7] !== "srflx") return;
        const set = ports.get(f[4]) ?? new Set();
        set.add(f[5]);
        ports.set(f[4], set);
      };
      pc.createOffer().then((o) => pc.setLocalDescription(o)).catch(() => resolve());
    });
  } finally {
    pc.close();
  }
  if (ports.size === 0) return unknown;
  const [ip, mapped] = [...ports.entries()][0];
  return {
    udp: true,
    mapping: mapped.size > 1 ? "address-and-port-dependent" : "endpoint-independent",
    filtering: null,
    mapping_stable: null,
    public_ip: ip,
  };
}
