/**
 * NAT mapping behaviour from one UDP socket (RFC 5780 §4.3, the port-only
 * variant): ask the relay's STUN server on two ports for our reflexive address.
 * The same mapped port both times means endpoint-independent mapping (hole
 * punching can work); different ports mean the NAT maps per destination
 * (address-and-port-dependent, "symmetric"), so a direct path with a peer that
 * is also symmetric cannot be punched.
 *
 * Runs in parallel with signalling; it never blocks a connection attempt.
 */
import dgram from "node:dgram";
import { stunBinding } from "../stun/mod.ts";

export type Mapping = "endpoint-independent" | "address-and-port-dependent";

export interface MappingProbeOptions {
  /** STUN server host (the relay's host as the peer reached it). */
  host: string;
  /** The relay's two STUN ports. */
  port: number;
  altPort: number;
  /** Give up on each request after this long. Default 2000 ms. */
  timeoutMs?: number;
}

/** The mapping behaviour, or null when it could not be determined (UDP blocked, no alt port). */
export async function probeMapping(options: MappingProbeOptions): Promise<Mapping | null> {
  if (!options.altPort || options.altPort === options.port) return null;
  const host = options.host.replace(/^\[|\]$/g, "");
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, () => resolve());
    });
    const timeoutMs = options.timeoutMs ?? 2000;
    const a = await stunBinding({ host, port: options.port }, { socket, timeoutMs });
    const b = await stunBinding({ host, port: options.altPort }, { socket, timeoutMs });
    return a.port === b.port && a.address === b.address
      ? "endpoint-independent"
      : "address-and-port-dependent";
  } catch {
    return null;
  } finally {
    try {
      socket.close();
    } catch { /* already closed */ }
  }
}
