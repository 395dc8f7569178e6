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
import {
  createMessage,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  isStunMessage,
  type StunMessage,
} from "./message.ts";
import { closeUdp, remoteAddress } from "./udp.ts";

/** Options for {@link stunBinding} and {@link stunTransaction}. */
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
  /** Stop retransmitting and reject with StunBindingError when this aborts. */
  signal?: AbortSignal;
}

/** Where to send the request. `host` may be a name, resolved by node:dgram. */
export interface StunServerAddress {
  host: string;
  port: number;
}

/** The answer to one request. */
export interface StunTransactionResult {
  /** The success or error response. */
  response: DecodedStunMessage;
  /** The datagram's source: the server socket that answered (CHANGE-REQUEST moves it). */
  from: TransportAddress;
  /** Milliseconds from the first send to the answer, retransmissions included. */
  rttMs: number;
}

/**
 * Send a Binding request and resolve with the address the server saw us at.
 * Rejects with {@link StunBindingError} on timeout or an error response.
 */
export async function stunBinding(
  server: StunServerAddress,
  options: StunBindingOptions = {},
): Promise<TransportAddress> {
  const request = createMessage(StunMethod.Binding, StunClass.Request);
  const { response } = await stunTransaction(server, request, options);
  const target = `${server.host}:${server.port}`;
  if (response.class === StunClass.ErrorResponse) {
    const error = readError(response);
    const detail = error ? `${error.code} ${error.reason}` : "no ERROR-CODE";
    throw new StunBindingError(`STUN server ${target} answered ${detail}`, error?.code);
  }
  const mapped = readMapped(response);
  if (!mapped) throw new StunBindingError(`STUN server ${target} sent no mapped address`);
  return mapped;
}

/**
 * Send `request` (with FINGERPRINT) and resolve with the first success or
 * error response carrying its transaction id, retransmitting as RFC 8489
 * §6.2.1 says until `timeoutMs`. Several transactions may share a socket.
 * Rejects with {@link StunBindingError} on timeout or abort.
 */
export async function stunTransaction(
  server: StunServerAddress,
  request: StunMessage,
  options: StunBindingOptions = {},
): Promise<StunTransactionResult> {
  const { timeoutMs = 5000, rtoMs = 500, signal } = options;
  if (!(timeoutMs > 0) || !(rtoMs > 0)) throw new RangeError("timeoutMs and rtoMs must be > 0");

  const owned = options.socket === undefined;
  const socket = options.socket ?? dgram.createSocket(isIP(server.host) === 6 ? "udp6" : "udp4");
  const datagram = encodeMessage(request, { fingerprint: true });
  const target = `${server.host}:${server.port}`;

  let onMessage: (data: Uint8Array, rinfo: dgram.RemoteInfo) => void = () => {};
  let onError: (err: Error) => void = () => {};
  let onAbort: () => void = () => {};
  let retransmit: ReturnType<typeof setTimeout> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    if (owned) await bind(socket);
    const started = performance.now();
    return await new Promise<StunTransactionResult>((resolve, reject) => {
      // UNTRUSTED INPUT: anything may arrive on the socket; only a well-formed
      // response to our transaction id is taken, the rest is ignored.
      onMessage = (data, rinfo) => {
        if (!isStunMessage(data)) return;
        try {
          const response = decodeMessage(data);
          if (response.method !== request.method) return;
          if (!sameBytes(response.transactionId, request.transactionId)) return;
          if (
            response.class !== StunClass.SuccessResponse &&
            response.class !== StunClass.ErrorResponse
          ) return;
          resolve({ response, from: remoteAddress(rinfo), rttMs: performance.now() - started });
        } catch (err) {
          if (!(err instanceof StunDecodeError)) reject(err);
        }
      };
      onError = (err) => reject(err);
      onAbort = () => reject(new StunBindingError(`STUN request to ${target} was abandoned`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort);
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
    signal?.removeEventListener("abort", onAbort);
    socket.off("message", onMessage);
    socket.off("error", onError);
    if (owned) await closeUdp(socket);
  }
}

/** XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS, else undefined (also when malformed). */
function readMapped(response: DecodedStunMessage): TransportAddress | undefined {
  try {
    return getAttribute(response, XorMappedAddress) ?? getAttribute(response, MappedAddress);
  } catch (err) {
    if (err instanceof StunDecodeError) return undefined;
    throw err;
  }
}

function readError(response: DecodedStunMessage) {
  try {
    return getAttribute(response, ErrorCode);
  } catch (err) {
    if (err instanceof StunDecodeError) return undefined;
    throw err;
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

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
