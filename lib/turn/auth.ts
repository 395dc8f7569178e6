/**
 * The server side of STUN's long-term credential mechanism (RFC 8489 §9.2.4)
 * with TURN REST API passwords (credentials.ts) and stateless nonces
 * (nonce.ts). TURN requires it for every request but Binding (RFC 8656 §5).
 */
import {
  AttrType,
  type DecodedStunMessage,
  ErrorCodes,
  type ErrorCodeValue,
  getAttribute,
  longTermKey,
  Nonce,
  Realm,
  StunDecodeError,
  Username,
  verifyMessageIntegrity,
} from "../stun/mod.ts";
import { restPasswordFor } from "./credentials.ts";
import type { NonceIssuer } from "./nonce.ts";

/** Outcome of {@link LongTermAuth.check}. */
export type AuthResult =
  | { ok: true; username: string; key: Uint8Array }
  | {
    ok: false;
    error: ErrorCodeValue;
    /** True for 401 and 438: the response carries REALM and a fresh NONCE (RFC 8489 §9.2.4). */
    challenge: boolean;
  };

/** Checks requests against a realm and a shared REST API secret. */
export class LongTermAuth {
  readonly realm: string;
  readonly #secret: string;
  readonly #nonces: NonceIssuer;

  constructor(realm: string, secret: string, nonces: NonceIssuer) {
    this.realm = realm;
    this.#secret = secret;
    this.#nonces = nonces;
  }

  /** A fresh nonce for a 401/438 response to a client at `ip`. */
  nonceFor(ip: string, now: number): string {
    return this.#nonces.issue(ip, now);
  }

  /**
   * RFC 8489 §9.2.4, in its order: no MESSAGE-INTEGRITY -> 401; integrity
   * but no USERNAME, REALM or NONCE -> 400; nonce stale or not ours -> 438;
   * unknown or expired username -> 401; integrity wrong -> 401.
   *
   * UNTRUSTED INPUT: `msg` is a decoded request off the wire.
   */
  check(msg: DecodedStunMessage, ip: string, now: number): AuthResult {
    if (!msg.attributes.some((a) => a.type === AttrType.MESSAGE_INTEGRITY)) {
      return { ok: false, error: ErrorCodes.Unauthenticated, challenge: true };
    }
    let username, realm, nonce;
    try {
      username = getAttribute(msg, Username);
      realm = getAttribute(msg, Realm);
      nonce = getAttribute(msg, Nonce);
    } catch (err) {
      if (!(err instanceof StunDecodeError)) throw err;
      return { ok: false, error: ErrorCodes.BadRequest, challenge: false };
    }
    if (username === undefined || realm === undefined || nonce === undefined) {
      return { ok: false, error: ErrorCodes.BadRequest, challenge: false };
    }
    if (!this.#nonces.valid(nonce, ip, now)) {
      return { ok: false, error: ErrorCodes.StaleNonce, challenge: true };
    }
    const password = realm === this.realm
      ? restPasswordFor(this.#secret, username, now)
      : undefined;
    if (password === undefined) {
      return { ok: false, error: ErrorCodes.Unauthenticated, challenge: true };
    }
    const key = longTermKey(username, this.realm, password);
    if (!verifyMessageIntegrity(msg, key)) {
      return { ok: false, error: ErrorCodes.Unauthenticated, challenge: true };
    }
    return { ok: true, username, key };
  }
}
