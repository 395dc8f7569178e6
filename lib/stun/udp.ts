/**
 * Small node:dgram helpers shared by the STUN servers and clients.
 * node:dgram works the same on Deno and Bun.
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import type { TransportAddress } from "./address.ts";

/** A UDP socket bound to `host:port` (port 0 picks a free one); rejects if the bind fails. */
export async function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket(isIP(host) === 6 ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await closeUdp(socket);
    throw err;
  }
  return socket;
}

/** Close a socket; resolves even if it never bound or is already closed. */
export function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/**
 * A datagram's sender as address attributes should report it. A dual-stack
 * "::" socket sees IPv4 clients as ::ffff:a.b.c.d; they are IPv4 clients and
 * get an IPv4 address back.
 */
export function remoteAddress(rinfo: { address: string; port: number }): TransportAddress {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(rinfo.address);
  if (mapped) return { family: "IPv4", address: mapped[1], port: rinfo.port };
  return {
    family: isIP(rinfo.address) === 6 ? "IPv6" : "IPv4",
    address: rinfo.address,
    port: rinfo.port,
  };
}

/**
 * Send one datagram, never throwing: errors (a closed socket, ICMP surfaced
 * on send) only lose the datagram, as UDP may anyway. An IPv6 socket reaches
 * an IPv4 peer at its IPv4-mapped address.
 */
export function sendTo(socket: dgram.Socket, bytes: Uint8Array, to: TransportAddress): void {
  try {
    const ipv6Socket = socket.address().family === "IPv6";
    const address = ipv6Socket && to.family === "IPv4" ? `::ffff:${to.address}` : to.address;
    socket.send(bytes, to.port, address, () => {});
  } catch {
    // Closed under us; nothing to tell anyone.
  }
}
