/**
 * The Binding method's server side (RFC 8489 §6.3), as a pure function from
 * a request datagram and its source to the response datagram. The UDP server
 * in server.ts is a thin loop around it, and TURN's server, which must also
 * answer Binding (RFC 8656 §4), can reuse it.
 */
import { AttrType, isComprehensionRequired, StunClass, StunMethod } from "./constants.ts";
import { StunDecodeError } from "./errors.ts";
import { ErrorCode, ErrorCodes, setAttribute, Software, UnknownAttributes } from "./attributes.ts";
import { type TransportAddress, XorMappedAddress } from "./address.ts";
import { hasFingerprint, verifyFingerprint } from "./fingerprint.ts";
import { createMessage, decodeMessage, encodeMessage, isStunMessage } from "./message.ts";

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
 * a 420 so the client learns it is unsupported.
 */
const UNDERSTOOD: ReadonlySet<number> = new Set([
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
  const fingerprint = hasFingerprint(request);
  if (fingerprint && !verifyFingerprint(request)) return undefined;

  const unknown = [
    ...new Set(
      request.attributes.map((a) => a.type).filter((t) =>
        isComprehensionRequired(t) && !UNDERSTOOD.has(t)
      ),
    ),
  ];
  const response = createMessage(
    StunMethod.Binding,
    unknown.length > 0 ? StunClass.ErrorResponse : StunClass.SuccessResponse,
    [],
    request.transactionId,
  );
  if (unknown.length > 0) {
    // RFC 8489 §6.3.1: 420 listing every comprehension-required attribute not understood.
    setAttribute(response, ErrorCode, ErrorCodes.UnknownAttribute);
    setAttribute(response, UnknownAttributes, unknown);
  } else {
    setAttribute(response, XorMappedAddress, source);
  }
  if (options.software !== undefined) setAttribute(response, Software, options.software);
  // Answer in kind: a client that fingerprints expects fingerprinted responses (RFC 8489 §7.3).
  return encodeMessage(response, { fingerprint });
}
