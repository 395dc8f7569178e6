/**
 * A UDP STUN server that answers Binding requests (RFC 8489 §6.3) with the
 * sender's reflexive address. node:dgram works the same on Deno and Bun.
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import { Software } from "./attributes.ts";
import { answerBinding } from "./binding.ts";
import { remoteAddress } from "./udp.ts";

/** Options for {@link startStunServer}, validated when the server starts. */
export interface StunServerOptions {
  /** Address to bind. Default "0.0.0.0". "::" listens on IPv6 and, dual-stack, IPv4. */
  hostname?: string;
  /** UDP port. Default 3478 (RFC 8489 §18.1); 0 picks a free port, read it from `port`. */
  port?: number;
  /** SOFTWARE attribute added to every response. Default: none. */
  software?: string;
}

/** A running STUN server. */
export interface StunServer {
  /** The bound port (the real one when started with port 0). */
  readonly port: number;
  readonly hostname: string;
  /** Stop answering and release the port. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Default STUN port, RFC 8489 §18.1. */
export const DEFAULT_STUN_PORT = 3478;

/** Bind a UDP socket and answer Binding requests on it until closed. */
export async function startStunServer(options: StunServerOptions = {}): Promise<StunServer> {
  const { hostname = "0.0.0.0", port = DEFAULT_STUN_PORT, software } = options;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`port ${port} is not 0..65535`);
  }
  if (software !== undefined) Software.encode(software, { transactionId: new Uint8Array(12) });

  const socket = dgram.createSocket({ type: isIP(hostname) === 6 ? "udp6" : "udp4" });
  // UNTRUSTED INPUT: every datagram from anyone. answerBinding drops what is
  // not a valid Binding request; the catch keeps a bug from killing the server.
  socket.on("message", (datagram: Uint8Array, rinfo: dgram.RemoteInfo) => {
    try {
      const response = answerBinding(datagram, remoteAddress(rinfo), { software });
      if (response) socket.send(response, rinfo.port, rinfo.address, () => {});
    } catch {
      // Dropping one datagram is the only sane reaction; there is no one to report to.
    }
  });
  // A send error (e.g. ICMP unreachable surfaced on some platforms) must not crash the process.
  socket.on("error", () => {});

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once("error", onError);
    socket.bind(port, hostname, () => {
      socket.off("error", onError);
      resolve();
    });
  }).catch((err) => {
    socket.close();
    throw err;
  });

  const bound = socket.address();
  let closed: Promise<void> | undefined;
  const close = () => closed ??= new Promise<void>((resolve) => socket.close(() => resolve()));
  return {
    port: bound.port,
    hostname,
    close,
    [Symbol.asyncDispose]: close,
  };
}
