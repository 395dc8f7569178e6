/**
 * The Binding method's server side (RFC 8489 §6.3), as a pure function from
 * a request datagram and its source to the response datagram. The UDP server
 * in server.ts is a thin loop around it, and TURN's server, which must also
 * answer Binding (RFC 8656 §4), can reuse it.
 */
import { AttrType, isComprehensionRequired, StunClass, StunMethod } from "./constants.ts";
import { StunDecodeError } from "./errors.ts";
import {
  ErrorCode,
  ErrorCodes,
  type ErrorCodeValue,
  setAttribute,
  Software,
  UnknownAttributes,
} from "./attributes.ts";
import { type TransportAddress, XorMappedAddress } from "./address.ts";
import { hasFingerprint, verifyFingerprint } from "./fingerprint.ts";
import {
  createMessage,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  isStunMessage,
  type StunMessage,
} from "./message.ts";

/** Options for {@link answerBinding}. */
export interface BindingOptions {
  /** SOFTWARE attribute for responses. Default: none. */
  software?: string;
}

/**
 * Comprehension-required attributes a Binding server accepts in a request
 * without acting on them. Authentication attributes are tolerated because
 * this server has no credentials: it answers everyone, like public STUN
 * servers. Anything else below 0x8000, e.g. RFC 5780's CHANGE-REQUEST, gets
 * a 420 so the client learns it is unsupported; behaviour.ts extends this set
 * with the RFC 5780 attributes it acts on.
 */
export const BINDING_UNDERSTOOD: ReadonlySet<number> = new Set([
  AttrType.MAPPED_ADDRESS,
  AttrType.USERNAME,
  AttrType.MESSAGE_INTEGRITY,
  AttrType.ERROR_CODE,
  AttrType.UNKNOWN_ATTRIBUTES,
  AttrType.REALM,
  AttrType.NONCE,
  AttrType.MESSAGE_INTEGRITY_SHA256,
  AttrType.PASSWORD_ALGORITHM,
  AttrType.USERHASH,
  AttrType.XOR_MAPPED_ADDRESS,
  AttrType.PRIORITY,
  AttrType.USE_CANDIDATE,
]);

/**
 * The response to send for `datagram` received from `source`, or undefined
 * when it must be dropped silently: not STUN, malformed, not a Binding
 * request, or carrying a FINGERPRINT that does not match (RFC 8489 §6.3, §7.3).
 *
 * UNTRUSTED INPUT: `datagram` is raw network data. This never throws for any
 * datagram; it only throws if `options.software` cannot be encoded.
 */
export function answerBinding(
  datagram: Uint8Array,
  source: TransportAddress,
  options: BindingOptions = {},
): Uint8Array | undefined {
  const request = readBindingRequest(datagram);
  if (!request) return undefined;
  const unknown = unknownRequired(request, BINDING_UNDERSTOOD);
  if (unknown.length > 0) {
    return bindingError(request, ErrorCodes.UnknownAttribute, options, unknown);
  }
  const response = createMessage(
    StunMethod.Binding,
    StunClass.SuccessResponse,
    [],
    request.transactionId,
  );
  setAttribute(response, XorMappedAddress, source);
  return finish(response, request, options);
}

/**
 * The Binding request in `datagram`, or undefined when it must be dropped
 * silently (RFC 8489 §6.3): not STUN, malformed, not a Binding request, or
 * with a FINGERPRINT that does not match.
 *
 * UNTRUSTED INPUT: `datagram` is raw network data; this never throws.
 */
export function readBindingRequest(datagram: Uint8Array): DecodedStunMessage | undefined {
  if (!isStunMessage(datagram)) return undefined;
  let request;
  try {
    request = decodeMessage(datagram);
  } catch (err) {
    if (err instanceof StunDecodeError) return undefined;
    throw err;
  }
  if (request.class !== StunClass.Request || request.method !== StunMethod.Binding) {
    return undefined;
  }
  if (hasFingerprint(request) && !verifyFingerprint(request)) return undefined;
  return request;
}

/** Comprehension-required attribute types of `request` not in `understood`, each once. */
export function unknownRequired(request: StunMessage, understood: ReadonlySet<number>): number[] {
  return [
    ...new Set(
      request.attributes.map((a) => a.type).filter((t) =>
        isComprehensionRequired(t) && !understood.has(t)
      ),
    ),
  ];
}

/**
 * An error response to a Binding request; with `unknown`, the
 * UNKNOWN-ATTRIBUTES list a 420 carries (RFC 8489 §6.3.1).
 */
export function bindingError(
  request: StunMessage,
  error: ErrorCodeValue,
  options: BindingOptions,
  unknown?: number[],
): Uint8Array {
  const response = createMessage(
    StunMethod.Binding,
    StunClass.ErrorResponse,
    [],
    request.transactionId,
  );
  setAttribute(response, ErrorCode, error);
  if (unknown) setAttribute(response, UnknownAttributes, unknown);
  return finish(response, request, options);
}

/** SOFTWARE if configured, then encode; FINGERPRINT when the request had one. */
export function finish(
  response: StunMessage,
  request: StunMessage,
  options: BindingOptions,
): Uint8Array {
  if (options.software !== undefined) setAttribute(response, Software, options.software);
  // Answer in kind: a client that fingerprints expects fingerprinted responses (RFC 8489 §7.3).
  return encodeMessage(response, { fingerprint: hasFingerprint(request) });
}
