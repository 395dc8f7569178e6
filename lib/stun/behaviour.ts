/**
 * NAT behaviour discovery, the server side (RFC 5780 §6), as a pure function
 * from a request datagram, its source and the socket it arrived on to the
 * response and the socket to send it from. behaviour_server.ts is the loop
 * around it on real sockets.
 *
 * The server listens on two ports, P1 and P2, on one or two addresses:
 *
 *                 P1 (port)        P2 (altPort)
 *     A1 (primary)  A1:P1            A1:P2
 *     A2 (alt)      A2:P1            A2:P2
 *
 * CHANGE-REQUEST picks the answering socket relative to the one the request
 * reached (Da:Dp): "change IP" swaps the row, "change port" the column
 * (RFC 5780 §6.1, Table 1). OTHER-ADDRESS names the diagonal opposite, Ca:Cp.
 *
 * With one address (no A2) the server deviates from RFC 5780 in one respect,
 * on purpose. §6 says such a server "MUST NOT include an OTHER-ADDRESS" (we
 * do not) "and MUST respond with a 420 (Unknown Attribute) to any Request
 * with a CHANGE-REQUEST attribute". We answer 420 only when the request asks
 * for an IP change, and honour a request for a port change alone, which we
 * can do truthfully: it tells a client whether its NAT filters by port
 * (address-and-port-dependent filtering) or not. A client following the RFC
 * sends no CHANGE-REQUEST to a server that gave no OTHER-ADDRESS (§5), so it
 * sees no difference.
 */
import { isIP } from "node:net";
import { AttrType, StunClass, StunMethod } from "./constants.ts";
import { StunDecodeError } from "./errors.ts";
import {
  ChangeRequest,
  type ChangeRequestFlags,
  ErrorCodes,
  getAttribute,
  Padding,
  ResponsePort,
  setAttribute,
} from "./attributes.ts";
import {
  MappedAddress,
  OtherAddress,
  ResponseOrigin,
  type TransportAddress,
  XorMappedAddress,
} from "./address.ts";
import {
  BINDING_UNDERSTOOD,
  bindingError,
  type BindingOptions,
  finish,
  readBindingRequest,
  unknownRequired,
} from "./binding.ts";
import { createMessage, type DecodedStunMessage } from "./message.ts";

/** One of the server's sockets: row (0 = A1, 1 = A2) and column (0 = P1, 1 = P2). */
export interface SocketSlot {
  readonly ip: 0 | 1;
  readonly port: 0 | 1;
}

/** Where the server's sockets are. Validated by the caller (startBehaviourServer). */
export interface BehaviourLayout extends BindingOptions {
  /** A1 and, when the server has a second address, A2. Both the same family. */
  readonly addresses: readonly [string] | readonly [string, string];
  /** P1 and P2, different. */
  readonly ports: readonly [number, number];
}

/** What to send for one request. */
export interface BehaviourAnswer {
  response: Uint8Array;
  /** The socket to send from. */
  from: SocketSlot;
  /** The request's source, or its IP with the port from RESPONSE-PORT. */
  to: TransportAddress;
}

/** The RFC 5780 request attributes this server acts on (§6.1), on top of plain Binding's. */
const UNDERSTOOD: ReadonlySet<number> = new Set([
  ...BINDING_UNDERSTOOD,
  AttrType.CHANGE_REQUEST,
  AttrType.RESPONSE_PORT,
  AttrType.PADDING,
]);

/**
 * The response PADDING is as long as the request's (RFC 5780 §6.1 suggests
 * the outgoing MTU), so a small spoofed request never buys a big response;
 * capped so the response stays under the 64 KiB a UDP datagram can carry.
 */
const MAX_RESPONSE_PADDING = 64_000;

/**
 * The answer to `datagram` from `source`, which arrived on socket
 * `receivedOn`, or undefined when it must be dropped silently (not a valid
 * Binding request, RFC 8489 §6.3).
 *
 * UNTRUSTED INPUT: `datagram` is raw network data. This never throws for any
 * datagram; it only throws if `layout.software` cannot be encoded.
 */
export function answerBehaviour(
  datagram: Uint8Array,
  source: TransportAddress,
  receivedOn: SocketSlot,
  layout: BehaviourLayout,
): BehaviourAnswer | undefined {
  const request = readBindingRequest(datagram);
  if (!request) return undefined;
  const fail = (response: Uint8Array): BehaviourAnswer => ({
    response,
    from: receivedOn,
    to: source,
  });

  const unknown = unknownRequired(request, UNDERSTOOD);
  if (unknown.length > 0) {
    return fail(bindingError(request, ErrorCodes.UnknownAttribute, layout, unknown));
  }
  const attributes = readAttributes(request);
  if (!attributes) return fail(bindingError(request, ErrorCodes.BadRequest, layout));
  const { change, responsePort, padding } = attributes;
  // RFC 5780 §6.1: PADDING with RESPONSE-PORT is refused with 400.
  if (padding !== undefined && responsePort !== undefined) {
    return fail(bindingError(request, ErrorCodes.BadRequest, layout));
  }
  // Port 0 cannot be sent to; RFC 5780 §7.5's range "0-65536" is taken as a slip.
  if (responsePort === 0) return fail(bindingError(request, ErrorCodes.BadRequest, layout));
  const twoAddresses = layout.addresses.length === 2;
  // RFC 5780 §6.1: a change the server cannot make is a 420 naming CHANGE-REQUEST.
  if (change.changeIp && !twoAddresses) {
    return fail(
      bindingError(request, ErrorCodes.UnknownAttribute, layout, [AttrType.CHANGE_REQUEST]),
    );
  }

  const from: SocketSlot = {
    ip: change.changeIp ? other(receivedOn.ip) : receivedOn.ip,
    port: change.changePort ? other(receivedOn.port) : receivedOn.port,
  };
  const response = createMessage(
    StunMethod.Binding,
    StunClass.SuccessResponse,
    [],
    request.transactionId,
  );
  // RFC 5780 §6.1: both forms, so a client can spot an ALG that rewrites addresses.
  setAttribute(response, XorMappedAddress, source);
  setAttribute(response, MappedAddress, source);
  // A wildcard socket cannot tell which of the host's addresses a datagram
  // left from, so RESPONSE-ORIGIN, which must be exact, is left out.
  const origin = slotAddress(layout, from);
  if (origin) setAttribute(response, ResponseOrigin, origin);
  if (twoAddresses) {
    // Ca:Cp relative to where the request arrived, whatever the flags (Table 1).
    const otherAddress = slotAddress(layout, {
      ip: other(receivedOn.ip),
      port: other(receivedOn.port),
    });
    if (otherAddress) setAttribute(response, OtherAddress, otherAddress);
  }
  if (padding !== undefined) {
    setAttribute(response, Padding, Math.min(padding, MAX_RESPONSE_PADDING));
  }
  const to = responsePort === undefined ? source : { ...source, port: responsePort };
  return { response: finish(response, request, layout), from, to };
}

interface RequestAttributes {
  change: ChangeRequestFlags;
  responsePort?: number;
  padding?: number;
}

/** The RFC 5780 attributes of a request, or undefined if one is malformed (answered with 400). */
function readAttributes(request: DecodedStunMessage): RequestAttributes | undefined {
  try {
    return {
      change: getAttribute(request, ChangeRequest) ?? { changeIp: false, changePort: false },
      responsePort: getAttribute(request, ResponsePort),
      padding: getAttribute(request, Padding),
    };
  } catch (err) {
    if (err instanceof StunDecodeError) return undefined;
    throw err;
  }
}

function other(index: 0 | 1): 0 | 1 {
  return index === 0 ? 1 : 0;
}

/** The transport address of a slot, or undefined when its IP is a wildcard. */
export function slotAddress(
  layout: BehaviourLayout,
  slot: SocketSlot,
): TransportAddress | undefined {
  const address = layout.addresses[slot.ip];
  if (address === undefined || isWildcard(address)) return undefined;
  return {
    family: isIP(address) === 6 ? "IPv6" : "IPv4",
    address,
    port: layout.ports[slot.port],
  };
}

/** "0.0.0.0" or "::" (any spelling): bound to every address of the host. */
export function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || /^[0:]+$/.test(address) && isIP(address) === 6;
}
