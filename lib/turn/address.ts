/** Transport addresses as the sockets report them, in the form STUN attributes carry. */
import { isIP } from "node:net";
import type { TransportAddress } from "../stun/mod.ts";

/**
 * A socket's peer as a TransportAddress. A dual-stack IPv6 socket reports
 * IPv4 peers as ::ffff:a.b.c.d; they are IPv4 peers, and permissions and
 * XOR-PEER-ADDRESS values name them as such.
 */
export function normalizeAddress(address: string, port: number): TransportAddress {
  // Runs for every datagram a relayed address receives: no regex unless IPv6.
  if (!address.includes(":")) return { family: "IPv4", address, port };
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { family: "IPv4", address: mapped[1], port };
  return { family: isIP(address) === 6 ? "IPv6" : "IPv4", address, port };
}
