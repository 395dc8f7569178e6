/**
 * UDP through node:dgram, which Deno and Bun both implement: the adapter for
 * Bun, and Deno's fallback when it runs without `--unstable-net`. On Deno it
 * costs far more per datagram than deno_udp.ts (a fresh 64 KiB buffer for each
 * receive, a concat and a lookup for each send).
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import type { UdpBindOptions, UdpSocketLike } from "./types.ts";

/** Bind a UDP socket with node:dgram; rejects when the port cannot be had. */
export function bindNodeUdp(options: UdpBindOptions): Promise<UdpSocketLike> {
  const { hostname, port, onMessage } = options;
  const family = isIP(hostname) === 6 ? "IPv6" : "IPv4";
  const socket = dgram.createSocket(family === "IPv6" ? "udp6" : "udp4");
  let closed = false;
  let bound = 0;
  const udp: UdpSocketLike = {
    get port() {
      return bound;
    },
    family,
    send(data, toPort, address) {
      if (closed) return;
      try {
        socket.send(data, toPort, address, () => {});
      } catch {
        // An address the platform cannot send to: the datagram is lost.
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        socket.close();
      } catch {
        // Already closed by an error.
      }
    },
  };
  socket.on("message", (data: Uint8Array, rinfo: dgram.RemoteInfo) => {
    onMessage(data, rinfo.address, rinfo.port);
  });
  return new Promise<UdpSocketLike>((resolve, reject) => {
    const onError = (err: Error) => {
      closed = true;
      try {
        socket.close();
      } catch {
        // not bound
      }
      reject(err);
    };
    socket.once("error", onError);
    socket.bind(port, hostname, () => {
      socket.off("error", onError);
      // ICMP errors surfaced as socket errors must not take the process down.
      socket.on("error", () => {});
      bound = socket.address().port;
      resolve(udp);
    });
  });
}
