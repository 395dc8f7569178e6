/**
 * RFC 5769 test vectors, byte for byte. The vectors pad with spaces (0x20)
 * where RFC 8489 lets the sender choose, so re-encoding them uses
 * `padding: 0x20` (and 0x00 for §2.4, which pads with zeros).
 */
import assert from "node:assert/strict";
import {
  AttrType,
  createMessage,
  decodeMessage,
  encodeMessage,
  getAttribute,
  IceControlled,
  longTermKey,
  Nonce,
  Priority,
  Realm,
  setAttribute,
  shortTermKey,
  Software,
  StunClass,
  StunDecodeError,
  StunMethod,
  Username,
  verifyFingerprint,
  verifyMessageIntegrity,
  XorMappedAddress,
} from "../../lib/stun/mod.ts";
import { hex, toHex } from "./_helpers.ts";

const PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";
const TRANSACTION_ID = hex("b7e7a701 bc34d686 fa87dfae");

/** §2.1 Sample Request: short-term credential, username "evtj:h6vY". */
const SAMPLE_REQUEST = hex(`
  00 01 00 58  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 10  53 54 55 4e  20 74 65 73  74 20 63 6c  69 65 6e 74
  00 24 00 04  6e 00 01 ff
  80 29 00 08  93 2f f9 b1  51 26 3b 36
  00 06 00 09  65 76 74 6a  3a 68 36 76  59 20 20 20
  00 08 00 14  9a ea a7 0c  bf d8 cb 56  78 1e f2 b5  b2 d3 f2 49  c1 b5 71 a2
  80 28 00 04  e5 7a 3b cf
`);

/** §2.2 Sample IPv4 Response: mapped address 192.0.2.1:32853. */
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 08  00 01 a1 47  e1 12 a6 43
  00 08 00 14  2b 91 f5 99  fd 9e 90 c3  8c 74 89 f9  2a f9 ba 53  f0 6b e7 d7
  80 28 00 04  c0 7d 4c 96
`);

/** §2.3 Sample IPv6 Response: mapped address [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48  21 12 a4 42  b7 e7 a7 01  bc 34 d6 86  fa 87 df ae
  80 22 00 0b  74 65 73 74  20 76 65 63  74 6f 72 20
  00 20 00 14  00 02 a1 47  01 13 a9 fa  a5 d3 f1 79  bc 25 f4 b5  be d2 b9 d9
  00 08 00 14  a3 82 95 4e  4b e6 7b f1  17 84 c9 7c  82 92 c2 75  bf e3 ed 41
  80 28 00 04  c8 fb 0b 4c
`);

/** §2.4 Sample Request with Long-Term Authentication. */
const SAMPLE_LONG_TERM_REQUEST = hex(`
  00 01 00 60  21 12 a4 42  78 ad 34 33  c6 ad 72 c0  29 da 41 2e
  00 06 00 12  e3 83 9e e3  83 88 e3 83  aa e3 83 83  e3 82 af e3  82 b9 00 00
  00 15 00 1c  66 2f 2f 34  39 39 6b 39  35 34 64 36  4f 4c 33 34  6f 4c 39 46
               53 54 76 79  36 34 73 41
  00 14 00 0b  65 78 61 6d  70 6c 65 2e  6f 72 67 00
  00 08 00 14  f6 70 24 65  6d d6 4a 3e  02 b8 e0 71  2e 85 c9 a2  8c a8 96 66
`);
const LONG_TERM_USERNAME = "\u30de\u30c8\u30ea\u30c3\u30af\u30b9"; // マトリックス
const LONG_TERM_REALM = "example.org";
const LONG_TERM_NONCE = "f//499k954d6OL34oL9FSTvy64sA";
/** "The\u00adM\u00aatr\u2168" after SASLprep, as §2.4 states. */
const LONG_TERM_PASSWORD = "TheMatrIX";

Deno.test("RFC 5769 §2.1 sample request decodes to its fields", () => {
  const msg = decodeMessage(SAMPLE_REQUEST);
  assert.equal(msg.method, StunMethod.Binding);
  assert.equal(msg.class, StunClass.Request);
  assert.deepEqual(msg.transactionId, TRANSACTION_ID);
  assert.equal(getAttribute(msg, Software), "STUN test client");
  assert.equal(getAttribute(msg, Priority), 0x6e0001ff);
  assert.equal(getAttribute(msg, IceControlled), 0x932ff9b151263b36n);
  assert.equal(getAttribute(msg, Username), "evtj:h6vY");
  assert.deepEqual(msg.attributes.map((a) => a.type), [
    AttrType.SOFTWARE,
    AttrType.PRIORITY,
    AttrType.ICE_CONTROLLED,
    AttrType.USERNAME,
    AttrType.MESSAGE_INTEGRITY,
    AttrType.FINGERPRINT,
  ]);
});

Deno.test("RFC 5769 §2.1 sample request passes MESSAGE-INTEGRITY and FINGERPRINT", () => {
  const msg = decodeMessage(SAMPLE_REQUEST);
  assert.equal(verifyMessageIntegrity(msg, shortTermKey(PASSWORD)), true);
  assert.equal(verifyMessageIntegrity(msg, shortTermKey("wrong password")), false);
  assert.equal(verifyFingerprint(msg), true);
});

Deno.test("RFC 5769 §2.1 sample request is reproduced exactly from its fields", () => {
  const msg = createMessage(StunMethod.Binding, StunClass.Request, [], TRANSACTION_ID);
  setAttribute(msg, Software, "STUN test client");
  setAttribute(msg, Priority, 0x6e0001ff);
  setAttribute(msg, IceControlled, 0x932ff9b151263b36n);
  setAttribute(msg, Username, "evtj:h6vY");
  const bytes = encodeMessage(msg, {
    integrityKey: shortTermKey(PASSWORD),
    fingerprint: true,
    padding: 0x20,
  });
  assert.equal(toHex(bytes), toHex(SAMPLE_REQUEST));
});

const responses = [
  {
    section: "§2.2",
    bytes: SAMPLE_IPV4_RESPONSE,
    mapped: { family: "IPv4", address: "192.0.2.1", port: 32853 } as const,
  },
  {
    section: "§2.3",
    bytes: SAMPLE_IPV6_RESPONSE,
    mapped: {
      family: "IPv6",
      address: "2001:db8:1234:5678:11:2233:4455:6677",
      port: 32853,
    } as const,
  },
];

for (const { section, bytes, mapped } of responses) {
  Deno.test(`RFC 5769 ${section} sample ${mapped.family} response decodes and verifies`, () => {
    const msg = decodeMessage(bytes);
    assert.equal(msg.class, StunClass.SuccessResponse);
    assert.deepEqual(msg.transactionId, TRANSACTION_ID);
    assert.equal(getAttribute(msg, Software), "test vector");
    assert.deepEqual(getAttribute(msg, XorMappedAddress), mapped);
    assert.equal(verifyMessageIntegrity(msg, shortTermKey(PASSWORD)), true);
    assert.equal(verifyFingerprint(msg), true);
  });

  Deno.test(`RFC 5769 ${section} sample ${mapped.family} response is reproduced exactly`, () => {
    const msg = createMessage(StunMethod.Binding, StunClass.SuccessResponse, [], TRANSACTION_ID);
    setAttribute(msg, Software, "test vector");
    setAttribute(msg, XorMappedAddress, mapped);
    const encoded = encodeMessage(msg, {
      integrityKey: shortTermKey(PASSWORD),
      fingerprint: true,
      padding: 0x20,
    });
    assert.equal(toHex(encoded), toHex(bytes));
  });
}

Deno.test("RFC 5769 §2.4 long-term request decodes to its fields", () => {
  const msg = decodeMessage(SAMPLE_LONG_TERM_REQUEST);
  assert.equal(msg.class, StunClass.Request);
  assert.deepEqual(msg.transactionId, hex("78ad3433 c6ad72c0 29da412e"));
  assert.equal(getAttribute(msg, Username), LONG_TERM_USERNAME);
  assert.equal(getAttribute(msg, Nonce), LONG_TERM_NONCE);
  assert.equal(getAttribute(msg, Realm), LONG_TERM_REALM);
  assert.equal(verifyFingerprint(msg), false, "the vector has no FINGERPRINT");
});

Deno.test("RFC 5769 §2.4 long-term request passes MESSAGE-INTEGRITY with MD5(user:realm:pass)", () => {
  const msg = decodeMessage(SAMPLE_LONG_TERM_REQUEST);
  const key = longTermKey(LONG_TERM_USERNAME, LONG_TERM_REALM, LONG_TERM_PASSWORD);
  assert.equal(verifyMessageIntegrity(msg, key), true);
  assert.equal(verifyMessageIntegrity(msg, shortTermKey(LONG_TERM_PASSWORD)), false);
});

Deno.test("RFC 5769 §2.4 long-term request is reproduced exactly from its fields", () => {
  const msg = createMessage(
    StunMethod.Binding,
    StunClass.Request,
    [],
    hex("78ad3433 c6ad72c0 29da412e"),
  );
  setAttribute(msg, Username, LONG_TERM_USERNAME);
  setAttribute(msg, Nonce, LONG_TERM_NONCE);
  setAttribute(msg, Realm, LONG_TERM_REALM);
  const key = longTermKey(LONG_TERM_USERNAME, LONG_TERM_REALM, LONG_TERM_PASSWORD);
  const bytes = encodeMessage(msg, { integrityKey: key });
  assert.equal(toHex(bytes), toHex(SAMPLE_LONG_TERM_REQUEST));
});

Deno.test("decoding then encoding each RFC 5769 vector gives back the same bytes", () => {
  for (
    const [bytes, padding] of [
      [SAMPLE_REQUEST, 0x20],
      [SAMPLE_IPV4_RESPONSE, 0x20],
      [SAMPLE_IPV6_RESPONSE, 0x20],
      [SAMPLE_LONG_TERM_REQUEST, 0x00],
    ] as const
  ) {
    assert.equal(toHex(encodeMessage(decodeMessage(bytes), { padding })), toHex(bytes));
  }
});

Deno.test("a flipped bit anywhere before MESSAGE-INTEGRITY is never accepted", () => {
  const key = shortTermKey(PASSWORD);
  const integrityOffset = SAMPLE_REQUEST.length - 32; // MESSAGE-INTEGRITY (24) + FINGERPRINT (8)
  for (let i = 0; i < integrityOffset; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const tampered = SAMPLE_REQUEST.slice();
      tampered[i] ^= 1 << bit;
      let accepted: boolean;
      try {
        accepted = verifyMessageIntegrity(decodeMessage(tampered), key);
      } catch (err) {
        assert.ok(err instanceof StunDecodeError);
        accepted = false;
      }
      assert.equal(accepted, false, `flipping bit ${bit} of byte ${i} went unnoticed`);
    }
  }
});
