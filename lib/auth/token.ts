/**
 * Relay access tokens: short-lived, HMAC-signed, minted by whoever holds the
 * relay's secret (`tun relay --token SECRET`, peers with `--token` or
 * TUN_TOKEN) and checked by the relay before it keeps any state for a
 * connection. The relay and its peers share the secret and nothing else: no
 * token store, no clock beyond each side's own.
 *
 * Wire layout (29 bytes, then base64url without padding: 39 characters):
 *
 *     0      1                5                         13                  29
 *     +------+----------------+-------------------------+-------------------+
 *     | 0x01 | expiry (u32 BE,| nonce (8 random bytes)  | tag: first 16     |
 *     | ver. | Unix seconds)  |                         | bytes of HMAC     |
 *     +------+----------------+-------------------------+-------------------+
 *
 *     tag = HMAC-SHA256(secret, "tun relay token\0" || bytes 0..13)[0..16]
 *
 * The label keeps these tags apart from anything else signed with the same
 * secret (a TURN REST password under a reused secret, say). A 128-bit tag
 * is what RFC 2104 §5 and NIST SP 800-107 allow for truncated HMAC-SHA256.
 * The nonce makes every token distinct, so logs can tell connections apart;
 * the relay does not remember nonces: within its lifetime a token is a bearer
 * credential, which is why peers mint one per connection with a short TTL
 * and why a relay on the internet belongs behind TLS (https://).
 *
 * Clocks: a token is expired once the verifier's clock passes its expiry by
 * more than `skewSeconds` (default {@link TOKEN_CLOCK_SKEW_S}); one whose
 * expiry lies further ahead than `maxTtlSeconds` + skew is refused too, so a
 * leaked long-lived token cannot exist even if a minter's clock is wrong.
 */
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Lifetime a peer should give the token it mints for one connection. */
export const DEFAULT_TOKEN_TTL_S = 300;
/** How far the verifier's clock may be ahead of the minter's. */
export const TOKEN_CLOCK_SKEW_S = 120;
/** The longest lifetime a token may be minted with, and (by default) accepted with. */
export const MAX_TOKEN_TTL_S = 24 * 3600;
/** Shortest secret accepted: a token and a short secret make an offline guessing game. */
export const MIN_SECRET_BYTES = 16;
/** Characters in a token. */
export const TOKEN_LENGTH = 39;

const VERSION = 0x01;
const SIGNED_BYTES = 13;
const TAG_BYTES = 16;
const TOKEN_BYTES = SIGNED_BYTES + TAG_BYTES;
const LABEL = new TextEncoder().encode("tun relay token\0");
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Why {@link verifyToken} refused a token. */
export type TokenFailure =
  | "missing"
  | "malformed"
  | "bad-signature"
  | "expired"
  | "lifetime-too-long";

/** The outcome of {@link verifyToken}. */
export type TokenCheck =
  | { ok: true; /** Unix seconds. */ expiry: number }
  | { ok: false; reason: TokenFailure; /** One line for a person. */ message: string };

/** Options for {@link verifyToken}. */
export interface VerifyTokenOptions {
  /** Seconds the verifier's clock may run ahead of the minter's. Default {@link TOKEN_CLOCK_SKEW_S}. */
  skewSeconds?: number;
  /** Refuse tokens whose expiry is further ahead than this (plus skew). Default {@link MAX_TOKEN_TTL_S}. */
  maxTtlSeconds?: number;
}

/** Throws a RangeError naming the problem when `secret` cannot sign tokens. */
export function checkTokenSecret(secret: string | Uint8Array): void {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new RangeError(
      `the token secret must be at least ${MIN_SECRET_BYTES} bytes (it has ${bytes.length})`,
    );
  }
}

/**
 * A token valid for `ttlSeconds` (1..{@link MAX_TOKEN_TTL_S}) from `now`
 * (milliseconds, default the current time). Throws RangeError for a short
 * secret or a bad TTL.
 */
export function mintToken(
  secret: string | Uint8Array,
  ttlSeconds: number = DEFAULT_TOKEN_TTL_S,
  now: number = Date.now(),
): string {
  checkTokenSecret(secret);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_S) {
    throw new RangeError(
      `token TTL ${ttlSeconds} is not a whole number of seconds in 1..${MAX_TOKEN_TTL_S}`,
    );
  }
  const expiry = Math.floor(now / 1000) + ttlSeconds;
  if (!(expiry > 0 && expiry <= 0xffffffff)) {
    throw new RangeError(`token expiry ${expiry} does not fit 32 bits`);
  }
  const bytes = new Uint8Array(TOKEN_BYTES);
  bytes[0] = VERSION;
  new DataView(bytes.buffer).setUint32(1, expiry);
  bytes.set(randomBytes(8), 5);
  bytes.set(tagOf(secret, bytes.subarray(0, SIGNED_BYTES)), SIGNED_BYTES);
  return Buffer.from(bytes).toString("base64url");
}

/**
 * Check `token` against `secret` at `now` (milliseconds). Never throws for
 * any token value, only for a secret {@link mintToken} would refuse.
 *
 * UNTRUSTED INPUT: `token` comes from anyone who can open a connection.
 */
export function verifyToken(
  secret: string | Uint8Array,
  token: unknown,
  now: number = Date.now(),
  options: VerifyTokenOptions = {},
): TokenCheck {
  checkTokenSecret(secret);
  const skew = options.skewSeconds ?? TOKEN_CLOCK_SKEW_S;
  const maxTtl = options.maxTtlSeconds ?? MAX_TOKEN_TTL_S;
  if (token === undefined || token === null || token === "") {
    return fail("missing", "this relay needs an access token");
  }
  // Length and alphabet before decoding anything.
  if (typeof token !== "string" || token.length !== TOKEN_LENGTH || !BASE64URL.test(token)) {
    return fail("malformed", "the access token is not a tun token");
  }
  const bytes = new Uint8Array(Buffer.from(token, "base64url"));
  // Only the canonical spelling: the last character has bits no byte uses.
  if (bytes.length !== TOKEN_BYTES || Buffer.from(bytes).toString("base64url") !== token) {
    return fail("malformed", "the access token is not a tun token");
  }
  if (bytes[0] !== VERSION) {
    return fail("malformed", `the access token has unknown version ${bytes[0]}`);
  }
  const expected = tagOf(secret, bytes.subarray(0, SIGNED_BYTES));
  if (!timingSafeEqual(expected, bytes.subarray(SIGNED_BYTES))) {
    return fail("bad-signature", "the access token was not signed with this relay's secret");
  }
  const expiry = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
  const nowS = Math.floor(now / 1000);
  if (nowS > expiry + skew) {
    return fail("expired", `the access token expired ${nowS - expiry} s ago`);
  }
  if (expiry > nowS + maxTtl + skew) {
    return fail("lifetime-too-long", `the access token lives longer than ${maxTtl} s`);
  }
  return { ok: true, expiry };
}

function tagOf(secret: string | Uint8Array, signed: Uint8Array): Uint8Array {
  const mac = createHmac("sha256", secret).update(LABEL).update(signed).digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, TAG_BYTES);
}

function fail(reason: TokenFailure, message: string): TokenCheck {
  return { ok: false, reason, message };
}
