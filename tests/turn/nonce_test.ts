/** The server's stateless NONCE values (lib/turn/nonce.ts). */
import assert from "node:assert/strict";
import { NonceIssuer } from "../../lib/turn/nonce.ts";

Deno.test("a nonce is valid for its client IP until it expires, and not forgeable", () => {
  const issuer = new NonceIssuer({ ttlSeconds: 600 });
  const now = 1_700_000_000_000;
  const nonce = issuer.issue("192.0.2.1", now);
  assert.match(nonce, /^[0-9a-f]{24}$/);
  assert.equal(issuer.valid(nonce, "192.0.2.1", now + 599_000), true);
  assert.equal(issuer.valid(nonce, "192.0.2.1", now + 600_000), false, "stale");
  assert.equal(issuer.valid(nonce, "192.0.2.2", now), false, "another IP");
  assert.equal(new NonceIssuer().valid(nonce, "192.0.2.1", now), false, "another server");
  const later = (parseInt(nonce.slice(0, 8), 16) + 3600).toString(16).padStart(8, "0");
  assert.equal(issuer.valid(later + nonce.slice(8), "192.0.2.1", now), false, "extended");
  const flipped = nonce.slice(0, -1) + (nonce.endsWith("0") ? "1" : "0");
  for (const junk of ["", "zz", flipped, nonce + "0", "é".repeat(24)]) {
    assert.equal(issuer.valid(junk, "192.0.2.1", now), false, junk);
  }
});
