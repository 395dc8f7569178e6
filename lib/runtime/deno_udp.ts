/**
 * Deno adapter, UDP: Deno's own datagram sockets (`Deno.listenDatagram`,
 * `--unstable-net`), receiving every datagram into one reused 64 KiB buffer.
 * Deno's node:dgram allocates (and zeroes) a fresh 64 KiB buffer for each
 * datagram it receives, which made a ~1200-byte datagram cost the TURN relay
 * tens of microseconds in memset and garbage collection alone. Without
 * `--unstable-net` this falls back to node:dgram.
 */
import { isIP } from "node:net";
import { bindNodeUdp } from "./node_udp.ts";
import type { UdpBindOptions, UdpSocketLike } from "./types.ts";

/** The largest UDP payload; a smaller buffer would truncate bigger datagrams silently. */
const MAX_DATAGRAM = 65_535;

/** Bind a UDP socket; rejects when the port cannot be had. */
export function bindUdp(options: UdpBindOptions): Promise<UdpSocketLike> {
  if (typeof Deno.listenDatagram !== "function") return bindNodeUdp(options);
  const { hostname, port, onMessage } = options;
  let conn: Deno.DatagramConn;
  try {
    conn = Deno.listenDatagram({ transport: "udp", hostname, port });
  } catch (err) {
    return Promise.reject(err);
  }
  let closed = false;
  const swallow = () => {};
  const udp: UdpSocketLike = {
    port: (conn.addr as Deno.NetAddr).port,
    family: isIP(hostname) === 6 ? "IPv6" : "IPv4",
    send(data, toPort, address) {
      if (closed) return;
      try {
        // Rejects for an address the platform cannot send to: the datagram is lost.
        conn.send(data, { transport: "udp", hostname: address, port: toPort }).catch(swallow);
      } catch {
        // closed meanwhile
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
  (async () => {
    const buffer = new Uint8Array(MAX_DATAGRAM);
    while (!closed) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await conn.receive(buffer);
      } catch (err) {
        // A reset reported for an earlier send (Windows does) is no reason to stop.
        if (!closed && err instanceof Deno.errors.ConnectionReset) continue;
        break; // closed, or the socket failed
      }
      if (closed) break;
      const { hostname: address, port: fromPort } = from as Deno.NetAddr;
      try {
        onMessage(data, address, fromPort);
      } catch {
        // The handler's bug must not end receiving for everyone on this port.
      }
    }
  })();
  return Promise.resolve(udp);
}
