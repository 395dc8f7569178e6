/**
 * Access control for the relay: short-lived HMAC tokens (token.ts) that
 * peers present when they open their signalling WebSocket.
 *
 * @example A peer holding the relay's secret, and the relay checking it
 * ```ts
 * const url = new URL("ws://relay.example:7700/v1/signal");
 * url.searchParams.set(TOKEN_PARAM, mintToken(secret));      // peer
 * const check = verifyToken(secret, url.searchParams.get(TOKEN_PARAM)); // relay
 * if (!check.ok) console.log(check.message);
 * ```
 */
import { mintToken } from "./token.ts";

export {
  checkTokenSecret,
  DEFAULT_TOKEN_TTL_S,
  MAX_TOKEN_TTL_S,
  MIN_SECRET_BYTES,
  mintToken,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_LENGTH,
  type TokenCheck,
  type TokenFailure,
  verifyToken,
  type VerifyTokenOptions,
} from "./token.ts";

/** The query parameter of the signalling URL (`/v1/signal?token=...`) that carries the token. */
export const TOKEN_PARAM = "token";

/** Signalling URL parameters that present a fresh token minted from `secret`, if any. */
export function tokenParams(secret: string | undefined): Record<string, string> | undefined {
  return secret === undefined ? undefined : { [TOKEN_PARAM]: mintToken(secret) };
}
