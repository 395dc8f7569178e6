/**
 * The RFC 5780 behaviour-discovery responder on real sockets: two ports on
 * one or two local addresses (see behaviour.ts for the layout and for what a
 * one-address server can and cannot do). All decisions are in behaviour.ts.
 *
 * The primary address:port usually belongs to the TURN server, which must
 * answer Binding there too (RFC 8656 §4). Then pass that socket as
 * `primarySocket` (the behaviour server only sends from it) and have its
 * owner hand Binding requests to `answerPrimary`:
 *
 * ```ts
 * const late: { behaviour?: BehaviourServer } = {}; // it needs the TURN port first
 * const turn = await startTurnServer({
 *   hostname: "203.0.113.7", port: 3478, realm, secret,
 *   // Until the behaviour server is up, Binding is answered plainly.
 *   bindingResponder: (datagram, source) =>
 *     late.behaviour
 *       ? late.behaviour.answerPrimary(datagram, source)
 *       : answerBinding(datagram, source),
 * });
 * late.behaviour = await startBehaviourServer({
 *   primaryHost: "203.0.113.7", altHost: "203.0.113.8",
 *   port: turn.udpPort, altPort: 0, primarySocket: turn.udp,
 * });
 * ```
 */
import type dgram from "node:dgram";
import { isIP } from "node:net";
import { Software } from "./attributes.ts";
import type { TransportAddress } from "./address.ts";
import {
  answerBehaviour,
  type BehaviourLayout,
  isWildcard,
  slotAddress,
  type SocketSlot,
} from "./behaviour.ts";
import { bindUdp, closeUdp, remoteAddress, sendTo } from "./udp.ts";

/** A UDP socket someone else owns and reads; the behaviour server only sends from it. */
export interface DatagramSender {
  /** Send one datagram. Must not throw. */
  send(bytes: Uint8Array, to: TransportAddress): void;
}

/** Options for {@link startBehaviourServer}, validated before anything is bound. */
export interface BehaviourServerOptions {
  /**
   * The primary IP address, A1. With `altHost` it must be a concrete
   * address; alone it may be a wildcard ("0.0.0.0", "::"), and answers then
   * carry no RESPONSE-ORIGIN (a wildcard socket cannot know its source IP).
   */
  primaryHost: string;
  /**
   * A second local IP address, A2, of the same family. With it the server
   * listens on four sockets, can change IP as well as port, and sends
   * OTHER-ADDRESS. Default: none (two sockets, port changes only).
   */
  altHost?: string;
  /** The primary port, P1. 0 picks one free on every address; read it from `port`. */
  port: number;
  /** The second port, P2, different from `port`. 0 picks a free one; read it from `altPort`. */
  altPort: number;
  /** SOFTWARE attribute on every response. Default: none. */
  software?: string;
  /**
   * The socket on primaryHost:port when another server owns it (the TURN
   * server's UDP socket, `TurnServer.udp`). It must be bound to primaryHost
   * itself, not a wildcard, when `altHost` is set, and `port` must be its
   * real port. Its owner passes Binding requests arriving there to
   * {@link BehaviourServer.answerPrimary}. Default: the server binds its own.
   */
  primarySocket?: DatagramSender;
}

/** A running behaviour-discovery responder. */
export interface BehaviourServer {
  readonly primaryHost: string;
  /** A2, or null with one address. */
  readonly altHost: string | null;
  /** P1, the real port when started with 0. */
  readonly port: number;
  /** P2, the real port when started with 0. */
  readonly altPort: number;
  /** What the primary socket's answers carry in OTHER-ADDRESS (A2:P2), or null with one address. */
  readonly otherAddress: TransportAddress | null;
  /**
   * Answer a Binding request that arrived on primaryHost:port; for the
   * owner of `primarySocket` to call. The answer goes out from whichever
   * socket CHANGE-REQUEST asks for. Never throws.
   *
   * UNTRUSTED INPUT: `datagram` is whatever arrived.
   */
  answerPrimary(datagram: Uint8Array, source: TransportAddress): void;
  /** Stop answering and close the sockets it bound (not `primarySocket`). Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Tries at finding ports free on both addresses when asked for port 0. */
const PORT_ATTEMPTS = 16;

/** Bind the sockets and answer Binding requests (RFC 8489, RFC 5780) on them until closed. */
export async function startBehaviourServer(
  options: BehaviourServerOptions,
): Promise<BehaviourServer> {
  validate(options);
  const { primaryHost, altHost, software, primarySocket } = options;
  const hosts = altHost === undefined ? [primaryHost] : [primaryHost, altHost];

  // sockets[ip][port]; [0][0] stays undefined when primarySocket is given.
  const sockets: (dgram.Socket | undefined)[][] = hosts.map(() => [undefined, undefined]);
  const owned = () => sockets.flat().filter((s): s is dgram.Socket => s !== undefined);
  const placeIn = (port: 0 | 1) => (column: dgram.Socket[]) =>
    column.forEach((socket, ip) => sockets[ip][port] = socket);
  let ports: [number, number];
  try {
    const p1 = primarySocket ? options.port : await bindColumn(hosts, options.port, [], placeIn(0));
    // With primarySocket, A1:P1 is the caller's; only A2:P1 is ours, at that very port.
    if (primarySocket && altHost !== undefined) sockets[1][0] = await bindUdp(altHost, p1);
    const p2 = await bindColumn(hosts, options.altPort, [p1], placeIn(1));
    ports = [p1, p2];
  } catch (err) {
    await Promise.all(owned().map(closeUdp));
    throw err;
  }

  const layout: BehaviourLayout = {
    addresses: altHost === undefined ? [primaryHost] : [primaryHost, altHost],
    ports,
    software,
  };
  let closed = false;

  const sendFrom = (slot: SocketSlot, bytes: Uint8Array, to: TransportAddress) => {
    const socket = sockets[slot.ip][slot.port];
    if (socket) sendTo(socket, bytes, to);
    else primarySocket?.send(bytes, to);
  };
  const answer = (datagram: Uint8Array, source: TransportAddress, slot: SocketSlot) => {
    if (closed) return;
    try {
      const reply = answerBehaviour(datagram, source, slot, layout);
      if (reply) sendFrom(reply.from, reply.response, reply.to);
    } catch {
      // A bug must not kill the server; the client will retransmit or give up.
    }
  };

  sockets.forEach((row, ip) =>
    row.forEach((socket, port) => {
      if (!socket) return;
      const slot: SocketSlot = { ip: ip as 0 | 1, port: port as 0 | 1 };
      // UNTRUSTED INPUT: every datagram from anyone; answerBehaviour drops what is not valid.
      socket.on("message", (datagram: Uint8Array, rinfo: dgram.RemoteInfo) => {
        answer(datagram, remoteAddress(rinfo), slot);
      });
      socket.on("error", () => {}); // ICMP errors surfaced on send must not crash the process
    })
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      closed = true;
      await Promise.all(owned().map(closeUdp));
    })();

  return {
    primaryHost,
    altHost: altHost ?? null,
    port: ports[0],
    altPort: ports[1],
    otherAddress: altHost === undefined ? null : slotAddress(layout, { ip: 1, port: 1 }) ?? null,
    answerPrimary: (datagram, source) => answer(datagram, source, { ip: 0, port: 0 }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Bind one port number on every host (a column of the layout). With port 0
 * the first host's socket picks it and the others must get the same number;
 * when one cannot, or it is in `avoid`, all are released and it tries again.
 * Hands the sockets, in host order, to `place` and resolves with the port.
 */
async function bindColumn(
  hosts: string[],
  port: number,
  avoid: number[],
  place: (column: dgram.Socket[]) => void,
): Promise<number> {
  for (let attempt = 1;; attempt++) {
    const column: dgram.Socket[] = [];
    try {
      column.push(await bindUdp(hosts[0], port));
      const picked = column[0].address().port;
      if (avoid.includes(picked)) throw new Error(`port ${picked} is taken by this server`);
      for (const host of hosts.slice(1)) column.push(await bindUdp(host, picked));
      place(column);
      return picked;
    } catch (err) {
      await Promise.all(column.map(closeUdp));
      if (port !== 0 || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

function validate(options: BehaviourServerOptions): void {
  const { primaryHost, altHost, port, altPort, software, primarySocket } = options;
  const family = isIP(primaryHost);
  if (family === 0) throw new TypeError(`primaryHost "${primaryHost}" is not an IP address`);
  for (const [name, value] of [["port", port], ["altPort", altPort]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw new RangeError(`${name} ${value} is not 0..65535`);
    }
  }
  if (port !== 0 && port === altPort) {
    throw new RangeError(`altPort must differ from port (both ${port})`);
  }
  if (primarySocket && port === 0) {
    throw new RangeError("with primarySocket, port must be that socket's real port, not 0");
  }
  if (altHost !== undefined) {
    if (isIP(altHost) !== family) {
      throw new TypeError(`altHost "${altHost}" is not an IPv${family} address like primaryHost`);
    }
    if (isWildcard(primaryHost) || isWildcard(altHost)) {
      throw new TypeError("with altHost, primaryHost and altHost must be concrete addresses");
    }
    if (altHost === primaryHost) throw new TypeError("altHost must differ from primaryHost");
  }
  if (software !== undefined) Software.encode(software, { transactionId: new Uint8Array(12) });
}
