/**
 * Ephemeral TURN credentials in the TURN REST API style
 * (draft-uberti-behave-turn-rest-00, what coturn calls `use-auth-secret`):
 *
 *     username = "<expiry, Unix seconds>:<id>"   (or just "<expiry>")
 *     password = base64(HMAC-SHA1(shared secret, username))
 *
 * Whoever knows the secret (the relay handing out credentials, the TURN
 * server checking them, or an external coturn) can mint and verify them with
 * no shared state; they stop working at the expiry written into the name.
 */
import { createHmac } from "node:crypto";

/** Credentials to hand to a peer, e.g. in an RTCIceServer. */
export interface TurnCredentials {
  username: string;
  password: string;
  /** Seconds the credentials stay valid from when they were minted. */
  ttl: number;
}

/** base64(HMAC-SHA1(secret, username)): the password for a REST API username. */
export function turnRestPassword(secret: string, username: string): string {
  return createHmac("sha1", secret).update(username).digest("base64");
}

/**
 * Mint credentials valid for `ttlSeconds` from `now` (milliseconds, default
 * the current time). `id` names the holder for logs and quotas; it may be
 * empty, which gives a bare "<expiry>" username as coturn's `-W` does.
 */
export function mintTurnCredentials(
  secret: string,
  id: string,
  ttlSeconds: number,
  now: number = Date.now(),
): TurnCredentials {
  if (secret.length === 0) throw new RangeError("the TURN secret must not be empty");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds ${ttlSeconds} is not a positive integer`);
  }
  const expiry = Math.floor(now / 1000) + ttlSeconds;
  const username = id === "" ? `${expiry}` : `${expiry}:${id}`;
  // RFC 8489 §14.3: USERNAME is fewer than 509 bytes.
  if (new TextEncoder().encode(username).length >= 509) {
    throw new RangeError("id makes the TURN username 509 bytes or longer");
  }
  return { username, password: turnRestPassword(secret, username), ttl: ttlSeconds };
}

/** The expiry (Unix seconds) and id in a REST API username, or undefined if it is not one. */
export function parseRestUsername(username: string): { expiry: number; id: string } | undefined {
  const colon = username.indexOf(":");
  const stamp = colon < 0 ? username : username.slice(0, colon);
  // Digits only: no sign, no exponent, no whitespace, and short enough to be exact.
  if (!/^\d{1,15}$/.test(stamp)) return undefined;
  return { expiry: Number(stamp), id: colon < 0 ? "" : username.slice(colon + 1) };
}

/**
 * The password the server expects for `username` at time `now`
 * (milliseconds), or undefined when the name is not a REST API username or
 * its expiry has passed; the server then answers 401 (RFC 8489 §9.2.4).
 */
export function restPasswordFor(
  secret: string,
  username: string,
  now: number = Date.now(),
): string | undefined {
  const parsed = parseRestUsername(username);
  if (!parsed || parsed.expiry * 1000 <= now) return undefined;
  return turnRestPassword(secret, username);
}
