/** Building responses to requests (RFC 8489 §6.3, §9.2.4). */
import {
  createMessage,
  type DecodedStunMessage,
  encodeMessage,
  ErrorCode,
  type ErrorCodeValue,
  hasFingerprint,
  setAttribute,
  Software,
  StunClass,
  type StunMessage,
} from "../stun/mod.ts";

/** What every response of one server shares. */
export interface ReplyOptions {
  /** MESSAGE-INTEGRITY key: the requester's long-term key once authenticated. */
  key?: Uint8Array;
  /** SOFTWARE attribute. */
  software?: string;
}

/**
 * A response to `request`: same method and transaction id, the attributes
 * `fill` adds, SOFTWARE if configured, MESSAGE-INTEGRITY under `key` if
 * given, and FINGERPRINT when the request had one (RFC 8489 §7.3: answer in
 * kind).
 */
export function reply(
  request: DecodedStunMessage,
  options: ReplyOptions,
  fill: (response: StunMessage) => void = () => {},
  cls: StunClass = StunClass.SuccessResponse,
): Uint8Array {
  const response = createMessage(request.method, cls, [], request.transactionId);
  fill(response);
  if (options.software !== undefined) setAttribute(response, Software, options.software);
  return encodeMessage(response, {
    integrityKey: options.key,
    fingerprint: hasFingerprint(request),
  });
}

/** An error response; with `options.key` it carries MESSAGE-INTEGRITY (RFC 8489 §9.2.4). */
export function errorReply(
  request: DecodedStunMessage,
  options: ReplyOptions,
  error: ErrorCodeValue,
  fill: (response: StunMessage) => void = () => {},
): Uint8Array {
  return reply(request, options, (r) => {
    setAttribute(r, ErrorCode, error);
    fill(r);
  }, StunClass.ErrorResponse);
}
