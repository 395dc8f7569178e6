/**
 * Relayed transport addresses as node:dgram sockets (which Deno and Bun both
 * implement): one UDP socket per allocation, bound to an ephemeral port, and
 * for EVEN-PORT an even one, with port + 1 held too when asked (RFC 8656 §7.2).
 */
import dgram from "node:dgram";
import type { TransportAddress } from "../stun/mod.ts";
import type { RelaySocket } from "./allocation.ts";
import type { OpenedRelay, RelayOpener, RelayRequest } from "./handler.ts";
import { normalizeAddress } from "./address.ts";

/** Options for {@link udpRelayOpener}. */
export interface UdpRelayOptions {
  /** Local address relay sockets bind to, e.g. "0.0.0.0" or the relay IP. */
  bindAddress: string;
  /** Tries at finding an even port (pair) before giving up with 508. Default 32. */
  attempts?: number;
}

/** A {@link RelayOpener} that binds real UDP sockets. */
export function udpRelayOpener(options: UdpRelayOptions): RelayOpener {
  const { bindAddress, attempts = 32 } = options;
  return async (request: RelayRequest): Promise<OpenedRelay> => {
    const type = request.family === "IPv6" ? "udp6" : "udp4";
    if (!request.evenPort) return { relay: await bindRelay(type, bindAddress, 0) };
    for (let i = 0; i < attempts; i++) {
      const relay = await bindRelay(type, bindAddress, 0);
      if (relay.port % 2 !== 0) {
        relay.close();
        continue;
      }
      if (!request.reserveNext) return { relay };
      try {
        return { relay, reserved: await bindRelay(type, bindAddress, relay.port + 1) };
      } catch {
        relay.close(); // port + 1 is taken: try another pair
      }
    }
    throw new Error(`no even port${request.reserveNext ? " pair" : ""} after ${attempts} tries`);
  };
}

/** Bind one relay socket; rejects if the port cannot be had. */
function bindRelay(type: "udp4" | "udp6", address: string, port: number): Promise<RelaySocket> {
  const socket = dgram.createSocket(type);
  let closed = false;
  let bound = 0;
  const relay: RelaySocket = {
    get port() {
      return bound;
    },
    onData: undefined,
    send(data: Uint8Array, peer: TransportAddress) {
      if (closed) return;
      try {
        socket.send(data, peer.port, peer.address, () => {});
      } catch {
        // A peer address the platform cannot send to: the datagram is lost, as UDP may.
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
  // UNTRUSTED INPUT: anyone who can reach the port; the handler checks permissions.
  socket.on("message", (data: Uint8Array, rinfo: dgram.RemoteInfo) => {
    relay.onData?.(data, normalizeAddress(rinfo.address, rinfo.port));
  });
  // ICMP errors surfaced as socket errors must not take the server down.
  socket.on("error", () => {});
  return new Promise<RelaySocket>((resolve, reject) => {
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
    socket.bind(port, address, () => {
      socket.off("error", onError);
      bound = socket.address().port;
      resolve(relay);
    });
  });
}
