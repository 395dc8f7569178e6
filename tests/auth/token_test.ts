/**
 * Relay access tokens (lib/auth/token.ts): what verifies, what does not and
 * why, and a fuzz run showing that no token value makes verifyToken throw.
 */
import { assert, assertEquals, assertThrows } from "../_util/assert.ts";
import { mutate, prng, randomBytes } from "../_util/prng.ts";
import {
  DEFAULT_TOKEN_TTL_S,
  MAX_TOKEN_TTL_S,
  mintToken,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_LENGTH,
  type TokenFailure,
  verifyToken,
} from "../../lib/auth/mod.ts";

const SECRET = "correct horse battery staple";
const NOW = 1_750_000_000_000;
const reasonOf = (check: ReturnType<typeof verifyToken>) => check.ok ? "ok" : check.reason;

Deno.test("a fresh token is 39 URL-safe characters, different every time, and verifies", () => {
  const a = mintToken(SECRET, 60, NOW);
  const b = mintToken(SECRET, 60, NOW);
  assertEquals(a.length, TOKEN_LENGTH);
  assert(/^[A-Za-z0-9_-]+$/.test(a), a);
  assertEquals(encodeURIComponent(a), a);
  assert(a !== b, "two tokens minted at once differ (nonce)");
  assertEquals(verifyToken(SECRET, a, NOW), { ok: true, expiry: NOW / 1000 + 60 });
  assertEquals(verifyToken(new TextEncoder().encode(SECRET), a, NOW).ok, true);
});

Deno.test("tokens are refused for the reason a person would want to know", () => {
  const good = mintToken(SECRET, 60, NOW);
  const flipped = good[20] === "A" ? "B" : "A";
  const cases: [string, unknown, number, TokenFailure | "ok"][] = [
    ["valid", good, NOW, "ok"],
    ["valid at its expiry", good, NOW + 60_000, "ok"],
    ["valid within the clock skew", good, NOW + (60 + TOKEN_CLOCK_SKEW_S) * 1000, "ok"],
    ["expired beyond the skew", good, NOW + (61 + TOKEN_CLOCK_SKEW_S) * 1000, "expired"],
    [
      "used long before it was minted (clock far behind)",
      good,
      NOW - 2 * MAX_TOKEN_TTL_S * 1000,
      "lifetime-too-long",
    ],
    ["missing", undefined, NOW, "missing"],
    ["null", null, NOW, "missing"],
    ["empty", "", NOW, "missing"],
    ["not a string", 42, NOW, "malformed"],
    ["an array", [good], NOW, "malformed"],
    ["one character short", good.slice(1), NOW, "malformed"],
    ["one character long", good + "A", NOW, "malformed"],
    ["padding", good.slice(0, 38) + "=", NOW, "malformed"],
    ["standard base64 alphabet", good.slice(0, 38) + "+", NOW, "malformed"],
    ["whitespace", ` ${good.slice(1)}`, NOW, "malformed"],
    ["a JWT", "eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG", NOW, "malformed"],
    ["a tampered character", good.slice(0, 20) + flipped + good.slice(21), NOW, "bad-signature"],
    [
      "signed with another secret",
      mintToken("another secret of some length", 60, NOW),
      NOW,
      "bad-signature",
    ],
  ];
  for (const [what, token, now, expected] of cases) {
    const check = verifyToken(SECRET, token, now);
    assertEquals(reasonOf(check), expected, what);
    if (!check.ok) assert(check.message.length > 10 && !check.message.includes("\n"), what);
  }
});

Deno.test("every single-character change to a token is refused", () => {
  const good = mintToken(SECRET, 60, NOW);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < good.length; i++) {
    for (const c of alphabet) {
      if (c === good[i]) continue;
      const changed = good.slice(0, i) + c + good.slice(i + 1);
      const check = verifyToken(SECRET, changed, NOW);
      assert(!check.ok, `position ${i} -> ${c} verified`);
      // The last character's unused bits make a non-canonical spelling: malformed.
      assert(check.reason === "bad-signature" || check.reason === "malformed", check.reason);
    }
  }
});

Deno.test("the expiry and version bytes are covered by the signature", () => {
  const good = mintToken(SECRET, 60, NOW);
  const bytes = Uint8Array.from(
    atob(good.replace(/-/g, "+").replace(/_/g, "/") + "="),
    (c) => c.charCodeAt(0),
  );
  const encode = (b: Uint8Array) =>
    btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const later = bytes.slice();
  later[4] ^= 0x01; // expiry + 1 s (or - 1 s)
  assertEquals(reasonOf(verifyToken(SECRET, encode(later), NOW)), "bad-signature");
  const version = bytes.slice();
  version[0] = 2;
  assertEquals(reasonOf(verifyToken(SECRET, encode(version), NOW)), "malformed");
});

Deno.test("mint and verify refuse short secrets and bad lifetimes", () => {
  assertThrows(() => mintToken("short", 60), RangeError);
  assertThrows(() => mintToken("", 60), RangeError);
  assertThrows(() => verifyToken("short", "x"), RangeError);
  for (const ttl of [0, -1, 1.5, MAX_TOKEN_TTL_S + 1, NaN]) {
    assertThrows(() => mintToken(SECRET, ttl), RangeError);
  }
  assertEquals(verifyToken(SECRET, mintToken(SECRET, MAX_TOKEN_TTL_S, NOW), NOW).ok, true);
  const defaultTtl = verifyToken(SECRET, mintToken(SECRET, undefined, NOW), NOW);
  assertEquals(defaultTtl, { ok: true, expiry: NOW / 1000 + DEFAULT_TOKEN_TTL_S });
});

Deno.test("100,000 random and mutated tokens never throw and never verify", () => {
  const rand = prng(2);
  const goodText = mintToken(SECRET, 600, NOW);
  const good = new TextEncoder().encode(goodText);
  const decoder = new TextDecoder();
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const seen: Record<string, number> = {};
  for (let i = 0; i < 100_000; i++) {
    let token: string;
    const kind = i % 4;
    if (kind === 0) token = decoder.decode(mutate(rand, good));
    else if (kind === 1) token = decoder.decode(randomBytes(rand, (rand() * 60) | 0));
    else {
      // Right length and alphabet: these reach the signature check.
      token = "";
      for (let j = 0; j < TOKEN_LENGTH; j++) token += alphabet[(rand() * 64) | 0];
      if (kind === 3) token = "AW" + token.slice(2); // version 1
    }
    const check = verifyToken(SECRET, token, NOW);
    // Two bit flips can cancel out; the original must verify, nothing else may.
    if (token === goodText) {
      assert(check.ok);
      continue;
    }
    assert(!check.ok, `verified: ${token}`);
    seen[check.reason] = (seen[check.reason] ?? 0) + 1;
  }
  // Every path was taken many times.
  assert(seen["malformed"] > 1000 && seen["bad-signature"] > 1000, JSON.stringify(seen));
});
