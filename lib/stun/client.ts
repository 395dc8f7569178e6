/**
 * A STUN Binding client (RFC 8489 §6.2.1): learn the reflexive transport
 * address a server sees for a UDP socket. Used by tests and for NAT probing.
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import { StunClass, StunMethod } from "./constants.ts";
import { StunBindingError, StunDecodeError } from "./errors.ts";
import { ErrorCode, getAttribute } from "./attributes.ts";
import { MappedAddress, type TransportAddress, XorMappedAddress } from "./address.ts";
import { createMessage, decodeMessage, encodeMessage, isStunMessage } from "./message.ts";

/** Options for {@link stunBinding}. */
export interface StunBindingOptions {
  /** Give up after this many milliseconds in total. Default 5000. */
  timeoutMs?: number;
  /**
   * First retransmission timeout; it doubles after each send (RFC 8489 §6.2.1,
   * whose full 39.5 s schedule is cut short by `timeoutMs`). Default 500.
   */
  rtoMs?: number;
  /**
   * Send from this bound socket, so the answer describes its NAT mapping; it
   * is left open. Default: a fresh socket on an ephemeral port, closed after.
   */
  socket?: dgram.Socket;
}

/** Where to send the request. `host` may be a name, resolved by node:dgram. */
export interface StunServerAddress {
  host: string;
  port: number;
}

/**
 * Send a Binding request and resolve with the address the server saw us at.
 * Rejects with {@link StunBindingError} on timeout or an error response.
 */
export async function stunBinding(
  server: StunServerAddress,
  options: StunBindingOptions = {},
): Promise<TransportAddress> {
  const { timeoutMs = 5000, rtoMs = 500 } = options;
  if (!(timeoutMs > 0) || !(rtoMs > 0)) throw new RangeError("timeoutMs and rtoMs must be > 0");

  const owned = options.socket === undefined;
  const socket = options.socket ?? dgram.createSocket(isIP(server.host) === 6 ? "udp6" : "udp4");
  const request = createMessage(StunMethod.Binding, StunClass.Request);
  const datagram = encodeMessage(request, { fingerprint: true });
  const target = `${server.host}:${server.port}`;

  let onMessage: (data: Uint8Array) => void = () => {};
  let onError: (err: Error) => void = () => {};
  let retransmit: ReturnType<typeof setTimeout> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    if (owned) await bind(socket);
    return await new Promise<TransportAddress>((resolve, reject) => {
      // UNTRUSTED INPUT: anything may arrive on the socket; only a well-formed
      // response to our transaction id is taken, the rest is ignored.
      onMessage = (data) => {
        if (!isStunMessage(data)) return;
        try {
          const response = decodeMessage(data);
          if (response.method !== StunMethod.Binding) return;
          if (!sameBytes(response.transactionId, request.transactionId)) return;
          if (response.class === StunClass.ErrorResponse) {
            const error = getAttribute(response, ErrorCode);
            const detail = error ? `${error.code} ${error.reason}` : "no ERROR-CODE";
            reject(new StunBindingError(`STUN server ${target} answered ${detail}`, error?.code));
            return;
          }
          if (response.class !== StunClass.SuccessResponse) return;
          const mapped = getAttribute(response, XorMappedAddress) ??
            getAttribute(response, MappedAddress);
          if (mapped) resolve(mapped);
        } catch (err) {
          if (!(err instanceof StunDecodeError)) reject(err);
        }
      };
      onError = (err) => reject(err);
      socket.on("message", onMessage);
      socket.on("error", onError);

      let rto = rtoMs;
      const send = () => {
        socket.send(datagram, server.port, server.host, (err) => {
          if (err) reject(err);
        });
        retransmit = setTimeout(send, rto);
        rto *= 2;
      };
      send();
      deadline = setTimeout(
        () =>
          reject(new StunBindingError(`STUN binding to ${target} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
  } finally {
    clearTimeout(retransmit);
    clearTimeout(deadline);
    socket.off("message", onMessage);
    socket.off("error", onError);
    if (owned) await close(socket);
  }
}

function bind(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

function close(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound, or already closed
    }
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
