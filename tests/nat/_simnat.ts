/**
 * A behaviour server that sees its clients through a simulated NAT, so the
 * probe's decisions can be tested for every mapping x filtering on loopback,
 * without root (the network-namespace lab in tests/lab does it for real).
 *
 * The NAT is simulated at the server, which is where its effects show:
 *   - mapping: each request is answered as if it came from a public address
 *     192.0.2.99 (TEST-NET-1; nothing answers there, so hairpinning fails)
 *     and a port chosen per client port (endpoint-independent), per client
 *     port and server IP (address-dependent), or per client port, server IP
 *     and server port (address-and-port-dependent);
 *   - filtering: an answer is delivered only if the client's mapping has sent
 *     to the answering socket's IP (address-dependent) or IP and port
 *     (address-and-port-dependent) before; endpoint-independent lets all in.
 * The server's decisions are the real ones (answerBehaviour).
 */
import type dgram from "node:dgram";
import {
  answerBehaviour,
  type BehaviourLayout,
  bindUdp,
  closeUdp,
  remoteAddress,
  sendTo,
  type SocketSlot,
  type TransportAddress,
} from "../../lib/stun/mod.ts";
import type { Behaviour } from "../../lib/nat/mod.ts";

export interface SimulatedNat {
  mapping: Behaviour;
  filtering: Behaviour;
  /** A mapping is replaced by a new one this many ms after it was made. Default: never. */
  remapAfterMs?: number;
  /** Listen on 127.0.0.2 too (four sockets). Default true. */
  twoAddresses?: boolean;
}

export interface SimulatedServer extends AsyncDisposable {
  port: number;
  altPort: number;
}

export const PUBLIC_IP = "192.0.2.99";
const ADDRESSES = ["127.0.0.1", "127.0.0.2"] as const;

interface Mapping {
  port: number;
  made: number;
  /** "ip:port" of every server socket this mapping sent to. */
  sentTo: Set<string>;
}

export async function startSimulatedNatServer(nat: SimulatedNat): Promise<SimulatedServer> {
  const hosts = nat.twoAddresses === false ? ADDRESSES.slice(0, 1) : ADDRESSES;
  const { sockets, ports } = await bindLayout(hosts);
  const layout: BehaviourLayout = {
    addresses: hosts.length === 2 ? [hosts[0], hosts[1]] : [hosts[0]],
    ports,
  };
  const mappings = new Map<string, Mapping>();
  let nextPort = 20000;

  const mappingFor = (client: number, ip: string, port: number): Mapping => {
    const key = nat.mapping === "endpoint-independent"
      ? `${client}`
      : nat.mapping === "address-dependent"
      ? `${client} ${ip}`
      : `${client} ${ip}:${port}`;
    const now = performance.now();
    let mapping = mappings.get(key);
    if (!mapping || (nat.remapAfterMs !== undefined && now - mapping.made > nat.remapAfterMs)) {
      mapping = { port: nextPort++, made: now, sentTo: new Set() };
      mappings.set(key, mapping);
    }
    return mapping;
  };
  const admits = (mapping: Mapping, from: TransportAddress): boolean => {
    if (nat.filtering === "endpoint-independent") return true;
    if (nat.filtering === "address-and-port-dependent") {
      return mapping.sentTo.has(`${from.address}:${from.port}`);
    }
    return [...mapping.sentTo].some((to) => to.startsWith(`${from.address}:`));
  };

  sockets.forEach((row, ip) =>
    row.forEach((socket, port) => {
      const slot: SocketSlot = { ip: ip as 0 | 1, port: port as 0 | 1 };
      socket.on("message", (datagram: Uint8Array, rinfo: dgram.RemoteInfo) => {
        const client = remoteAddress(rinfo);
        const mapping = mappingFor(client.port, hosts[ip], ports[port]);
        mapping.sentTo.add(`${hosts[ip]}:${ports[port]}`);
        const publicSource: TransportAddress = {
          family: "IPv4",
          address: PUBLIC_IP,
          port: mapping.port,
        };
        const reply = answerBehaviour(datagram, publicSource, slot, layout);
        if (!reply) return;
        const from = { address: hosts[reply.from.ip], port: ports[reply.from.port] };
        if (!admits(mapping, { family: "IPv4", ...from })) return;
        sendTo(sockets[reply.from.ip][reply.from.port], reply.response, client);
      });
    })
  );

  return {
    port: ports[0],
    altPort: ports[1],
    [Symbol.asyncDispose]: () => Promise.all(sockets.flat().map(closeUdp)).then(() => {}),
  };
}

/** Two ports free on every host: sockets[ip][port]. */
async function bindLayout(hosts: readonly string[]) {
  for (let attempt = 0;; attempt++) {
    const bound: dgram.Socket[] = [];
    try {
      const sockets: dgram.Socket[][] = hosts.map(() => []);
      const ports: [number, number] = [0, 0];
      for (const column of [0, 1]) {
        const first = await bindUdp(hosts[0], 0);
        bound.push(first);
        ports[column] = first.address().port;
        sockets[0][column] = first;
        for (let ip = 1; ip < hosts.length; ip++) {
          const socket = await bindUdp(hosts[ip], ports[column]);
          bound.push(socket);
          sockets[ip][column] = socket;
        }
      }
      return { sockets, ports };
    } catch (err) {
      await Promise.all(bound.map(closeUdp));
      if (attempt > 10) throw err;
    }
  }
}
