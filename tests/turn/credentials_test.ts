/** TURN REST API credentials. */
import assert from "node:assert/strict";
import {
  mintTurnCredentials,
  parseRestUsername,
  restPasswordFor,
  turnRestPassword,
} from "../../lib/turn/mod.ts";

Deno.test("the password is base64(HMAC-SHA1(secret, username)), as coturn's use-auth-secret computes it", () => {
  // Vectors computed independently with Python's hmac module.
  const vectors = [
    ["north", "1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE="],
    ["correct horse battery staple", "1433895918:guest", "girzyDlmLwW884pmeGYqHuY84Ak="],
    ["s", "4102444800", "wy0ocYWvyRNDyDgQ3QhCoqI0ads="],
  ];
  for (const [secret, username, password] of vectors) {
    assert.equal(turnRestPassword(secret, username), password, username);
  }
});

Deno.test("minted credentials name their expiry and id, and verify until that second", () => {
  const now = 1_700_000_000_000;
  const creds = mintTurnCredentials("north", "alice", 3600, now);
  assert.deepEqual(creds, {
    username: "1700003600:alice",
    password: turnRestPassword("north", "1700003600:alice"),
    ttl: 3600,
  });
  assert.equal(restPasswordFor("north", creds.username, now), creds.password);
  assert.equal(restPasswordFor("north", creds.username, now + 3_599_999), creds.password);
  assert.equal(restPasswordFor("north", creds.username, now + 3_600_000), undefined, "expired");
  assert.equal(mintTurnCredentials("north", "", 60, now).username, "1700000060");
});

Deno.test("usernames that are not REST API usernames get no password", () => {
  const cases: [string, { expiry: number; id: string } | undefined][] = [
    ["1700000000:alice", { expiry: 1700000000, id: "alice" }],
    ["1700000000", { expiry: 1700000000, id: "" }],
    ["1700000000:a:b", { expiry: 1700000000, id: "a:b" }],
    ["alice", undefined],
    ["alice:1700000000", undefined],
    ["", undefined],
    [":alice", undefined],
    ["-1:alice", undefined],
    ["1e12:alice", undefined],
    [" 1700000000:alice", undefined],
    ["1234567890123456:alice", undefined],
  ];
  for (const [username, parsed] of cases) {
    assert.deepEqual(parseRestUsername(username), parsed, JSON.stringify(username));
    if (!parsed) assert.equal(restPasswordFor("s", username, 0), undefined, username);
  }
});

Deno.test("minting refuses an empty secret, a non-positive ttl and an oversized id", () => {
  assert.throws(() => mintTurnCredentials("", "a", 60), RangeError);
  assert.throws(() => mintTurnCredentials("s", "a", 0), RangeError);
  assert.throws(() => mintTurnCredentials("s", "a", 1.5), RangeError);
  assert.throws(() => mintTurnCredentials("s", "x".repeat(600), 60), RangeError);
});
