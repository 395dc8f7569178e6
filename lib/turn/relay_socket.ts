/**
 * Relayed transport addresses as UDP sockets (lib/runtime's bindUdp): one per
 * allocation, bound to an ephemeral port, and for EVEN-PORT an even one, with
 * port + 1 held too when asked (RFC 8656 §7.2).
 */
import { bindUdp } from "../runtime/mod.ts";
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
  /** Kernel receive buffer of each relay socket, bytes (lib/runtime bindUdp). Default: the OS's. */
  receiveBuffer?: number;
}

/** A {@link RelayOpener} that binds real UDP sockets. */
export function udpRelayOpener(options: UdpRelayOptions): RelayOpener {
  const { bindAddress, attempts = 32, receiveBuffer } = options;
  const bindRelay = (address: string, port: number) =>
    bindRelaySocket(address, port, receiveBuffer);
  return async (request: RelayRequest): Promise<OpenedRelay> => {
    if (!request.evenPort) return { relay: await bindRelay(bindAddress, 0) };
    for (let i = 0; i < attempts; i++) {
      const relay = await bindRelay(bindAddress, 0);
      if (relay.port % 2 !== 0) {
        relay.close();
        continue;
      }
      if (!request.reserveNext) return { relay };
      try {
        return { relay, reserved: await bindRelay(bindAddress, relay.port + 1) };
      } catch {
        relay.close(); // port + 1 is taken: try another pair
      }
    }
    throw new Error(`no even port${request.reserveNext ? " pair" : ""} after ${attempts} tries`);
  };
}

/** Bind one relay socket on `address` (of the allocation's family); rejects if the port cannot be had. */
async function bindRelaySocket(
  address: string,
  port: number,
  receiveBuffer: number | undefined,
): Promise<RelaySocket> {
  let onData: RelaySocket["onData"];
  const socket = await bindUdp({
    hostname: address,
    port,
    receiveBuffer,
    // UNTRUSTED INPUT: anyone who can reach the port; the handler checks permissions.
    onMessage(data, from, fromPort) {
      onData?.(data, normalizeAddress(from, fromPort));
    },
  });
  return {
    port: socket.port,
    get onData() {
      return onData;
    },
    set onData(handler) {
      onData = handler;
    },
    send(data: Uint8Array, peer: TransportAddress) {
      socket.send(data, peer.port, peer.address);
    },
    close() {
      socket.close();
    },
  };
}
