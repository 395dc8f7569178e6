/**
 * The TURN server on real sockets: one UDP socket and one TCP listener
 * (RFC 8656 §3.1: TURN over TCP frames STUN and ChannelData back to back on
 * the connection; the relayed transport stays UDP). All protocol decisions
 * are in handler.ts; this file moves bytes and owns the timers.
 *
 * UDP and TCP listen on the same port number when they can. With `port: 0`
 * the kernel picks the UDP port; TCP then asks for the same number, and if it
 * is taken (by an unrelated TCP socket) the pair is retried a few times and
 * finally TCP takes a port of its own. Read the real ports from `udpPort` and
 * `tcpPort`. With a fixed port both must get it, or startTurnServer rejects.
 */
import net from "node:net";
import { isIP } from "node:net";
import { bindUdp, type UdpBindOptions, type UdpSocketLike } from "../runtime/mod.ts";
import { type DatagramSender, isStunMessage, type TransportAddress } from "../stun/mod.ts";
import { normalizeAddress } from "./address.ts";
import { isChannelData } from "./channel_data.ts";
import { DEFAULT_TURN_PORT } from "./constants.ts";
import { type TurnClient, TurnHandler, type TurnHandlerOptions } from "./handler.ts";
import { udpRelayOpener } from "./relay_socket.ts";
import { StreamDeframer } from "./stream.ts";
import { TurnDecodeError } from "./errors.ts";

/**
 * Options for {@link startTurnServer}, validated when it starts: the handler's
 * options (realm, secret, peer policy, quotas, lifetimes; see
 * {@link TurnHandlerOptions}) plus where to listen. TCP connections are capped
 * at twice `maxAllocations`.
 */
export interface TurnServerOptions extends Omit<TurnHandlerOptions, "relayAddress" | "now"> {
  /** Address to listen on, UDP and TCP. Default "0.0.0.0". */
  hostname?: string;
  /** Port for UDP and TCP. Default 3478; 0 picks a free one (see the file comment). */
  port?: number;
  /**
   * IP put in XOR-RELAYED-ADDRESS: where peers reach relayed addresses.
   * Default: `hostname`, or 127.0.0.1 when that is a wildcard (0.0.0.0, ::).
   * Behind 1:1 NAT (a cloud VM) set it to the public IP.
   */
  relayAddress?: string;
  /**
   * Kernel receive buffer, in bytes, for the UDP port and every relayed
   * address's socket; 0 leaves the OS default. A burst that finds the
   * buffer full is dropped, and a dropped DTLS/SCTP datagram costs the peers a
   * retransmission: the default (208 KiB, ~90 datagrams of 1200 bytes)
   * overflowed at ~10 MB/s in the bench. Capped by net.core.rmem_max unless
   * the process has CAP_NET_ADMIN (lib/runtime bindUdp). Default 4 MiB.
   */
  udpReceiveBuffer?: number;
  /**
   * Takes over the Binding requests that arrive on the UDP port, which are
   * otherwise answered here with a plain RFC 8489 response. It returns a
   * response to send back to `source` from this socket, or nothing when it
   * sent the answer itself or drops the request. The relay passes its RFC
   * 5780 behaviour server's `answerPrimary` (lib/stun behaviour_server.ts),
   * which sends through `udp`, or from another socket when CHANGE-REQUEST
   * asks. TCP Binding is unaffected. Default: none.
   */
  bindingResponder?: (datagram: Uint8Array, source: TransportAddress) => Uint8Array | void;
}

/** A running TURN server. */
export interface TurnServer {
  readonly hostname: string;
  readonly udpPort: number;
  /** Equal to `udpPort` unless that number was taken for TCP (only possible with port 0). */
  readonly tcpPort: number;
  /** The IP in XOR-RELAYED-ADDRESS. */
  readonly relayAddress: string;
  /** Live allocations. */
  readonly allocations: number;
  /** Sends from the UDP socket; for a `bindingResponder` answering from this address. */
  readonly udp: DatagramSender;
  /** Close every allocation and connection and release the ports. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A TCP connection without an allocation is closed after this long without a byte. */
const TCP_IDLE_MS = 60_000;
/** Relayed data for a TCP client is dropped, as UDP would, while this much is unsent. */
const TCP_MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** See TurnServerOptions.udpReceiveBuffer. */
const DEFAULT_UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;
/** Tries at giving UDP and TCP the same port number when the port is 0. */
const SAME_PORT_ATTEMPTS = 8;

/** Start a TURN server on UDP and TCP. */
export async function startTurnServer(options: TurnServerOptions): Promise<TurnServer> {
  const { hostname = "0.0.0.0", port = DEFAULT_TURN_PORT } = options;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`port ${port} is not 0..65535`);
  }
  if (isIP(hostname) === 0) throw new TypeError(`hostname "${hostname}" is not an IP address`);
  const wildcard = hostname === "0.0.0.0" || hostname === "::";
  const relayAddress = options.relayAddress ?? (wildcard ? "127.0.0.1" : hostname);
  if (isIP(relayAddress) === 0) {
    throw new TypeError(`relayAddress "${relayAddress}" is not an IP address`);
  }
  const relayFamily = isIP(relayAddress);
  const relayBind = isIP(hostname) === relayFamily
    ? hostname
    : relayFamily === 6
    ? "::"
    : "0.0.0.0";

  const handlerOptions: TurnHandlerOptions = { ...options, relayAddress };
  const { udpReceiveBuffer = DEFAULT_UDP_RECEIVE_BUFFER } = options;
  if (!Number.isInteger(udpReceiveBuffer) || udpReceiveBuffer < 0) {
    throw new RangeError(`udpReceiveBuffer ${udpReceiveBuffer} is not a byte count`);
  }
  const receiveBuffer = udpReceiveBuffer || undefined;
  const handler = new TurnHandler(
    handlerOptions,
    udpRelayOpener({ bindAddress: relayBind, receiveBuffer }),
  );
  const maxConnections = 2 * (options.maxAllocations ?? 1000);

  const { bindingResponder } = options;
  // UNTRUSTED INPUT: every datagram from anyone; the handler drops what is not valid.
  // `datagram` is a view of the socket's receive buffer, valid during this call only.
  const onDatagram = (datagram: Uint8Array, from: string, fromPort: number) => {
    // The data path first: ChannelData needs no TurnClient, only the 5-tuple's key.
    const key = `udp ${from} ${fromPort}`;
    if (isChannelData(datagram)) return handler.relayChannelData(datagram, key);
    const address = normalizeAddress(from, fromPort);
    const client: TurnClient = {
      transport: "udp",
      address,
      key,
      // Until listen() returns there is no socket to answer from: dropped, as UDP may.
      send: (bytes) => answerFrom.udp?.send(bytes, fromPort, from),
    };
    if (bindingResponder && isBindingRequest(datagram)) {
      try {
        const response = bindingResponder(datagram.slice(), address);
        if (response) client.send(response);
      } catch (err) {
        options.onInternalError?.(err);
      }
      return;
    }
    handler.handle(datagram, client).then((response) => {
      if (response) client.send(response);
    });
  };
  const answerFrom: { udp?: UdpSocketLike } = {};
  const { udp, tcp } = await listen(hostname, port, receiveBuffer, onDatagram);
  answerFrom.udp = udp;
  const connections = new Set<net.Socket>();

  let nextConnection = 0;
  tcp.on("connection", (socket: net.Socket) => {
    if (connections.size >= maxConnections || socket.remoteAddress === undefined) {
      socket.destroy();
      return;
    }
    connections.add(socket);
    socket.setNoDelay(true);
    const client: TurnClient = {
      transport: "tcp",
      address: normalizeAddress(socket.remoteAddress, socket.remotePort ?? 0),
      key: `tcp#${nextConnection++}`,
      send(bytes) {
        // A client that does not read loses relayed data instead of growing our memory.
        if (socket.destroyed || socket.writableLength > TCP_MAX_QUEUED_BYTES) return;
        socket.write(bytes);
      },
    };
    const deframer = new StreamDeframer();
    // UNTRUSTED INPUT: the byte stream. A frame that cannot be delimited ends the connection.
    socket.on("data", (chunk: Uint8Array) => {
      let frames;
      try {
        frames = deframer.push(chunk);
      } catch (err) {
        if (!(err instanceof TurnDecodeError)) options.onInternalError?.(err);
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        if (frame.kind === "channel") {
          handler.relayChannelData(frame.bytes, client.key);
          continue;
        }
        handler.handle(frame.bytes, client).then((response) => {
          if (response) client.send(response);
        });
      }
    });
    socket.setTimeout(TCP_IDLE_MS, () => {
      if (!handler.hasAllocation(client.key)) socket.destroy();
    });
    socket.on("error", () => {}); // resets are normal; "close" follows
    socket.on("close", () => {
      connections.delete(socket);
      handler.disconnect(client.key);
    });
  });

  const sweeper = setInterval(() => handler.sweep(), 1000);
  const tcpPort = (tcp.address() as net.AddressInfo).port;
  const udpPort = udp.port;

  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      clearInterval(sweeper);
      handler.close();
      for (const socket of connections) socket.destroy();
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    })();

  return {
    hostname,
    udpPort,
    tcpPort,
    relayAddress,
    get allocations() {
      return handler.allocationCount;
    },
    udp: {
      send(bytes, to) {
        // A dual-stack socket reaches IPv4 peers at their IPv4-mapped address.
        const v4on6 = udp.family === "IPv6" && to.family === "IPv4";
        udp.send(bytes, to.port, v4on6 ? `::ffff:${to.address}` : to.address);
      },
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The message type 0x0001 (Binding request, RFC 8489 §5) on a STUN-shaped datagram. */
function isBindingRequest(datagram: Uint8Array): boolean {
  return datagram[0] === 0x00 && datagram[1] === 0x01 && isStunMessage(datagram);
}

/** Bind UDP and TCP, on one port number when possible (see the file comment). */
async function listen(
  hostname: string,
  port: number,
  receiveBuffer: number | undefined,
  onMessage: UdpBindOptions["onMessage"],
): Promise<{ udp: UdpSocketLike; tcp: net.Server }> {
  for (let attempt = 0;; attempt++) {
    const udp = await bindUdp({ hostname, port, receiveBuffer, onMessage });
    const fallback = port === 0 && attempt >= SAME_PORT_ATTEMPTS;
    try {
      const tcp = await listenTcp(hostname, fallback ? 0 : udp.port);
      return { udp, tcp };
    } catch (err) {
      udp.close();
      if (port !== 0 || fallback) throw err;
    }
  }
}

function listenTcp(hostname: string, port: number): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host: hostname, exclusive: true }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
