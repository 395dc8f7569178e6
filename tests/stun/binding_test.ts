/** The Binding server's decisions, tested without sockets. */
import assert from "node:assert/strict";
import {
  answerBinding,
  AttrType,
  createMessage,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  getAttribute,
  setAttribute,
  Software,
  StunClass,
  StunMethod,
  type TransportAddress,
  UnknownAttributes,
  verifyFingerprint,
  XorMappedAddress,
} from "../../lib/stun/mod.ts";
import { hex } from "./_helpers.ts";

const SOURCE: TransportAddress = { family: "IPv4", address: "198.51.100.7", port: 50123 };

function bindingRequest(attributes: { type: number; value: Uint8Array }[] = []) {
  return createMessage(StunMethod.Binding, StunClass.Request, attributes);
}

Deno.test("a Binding request is answered with the sender's address in XOR-MAPPED-ADDRESS", () => {
  const request = bindingRequest();
  const answer = answerBinding(encodeMessage(request), SOURCE);
  assert.ok(answer);
  const response = decodeMessage(answer);
  assert.equal(response.class, StunClass.SuccessResponse);
  assert.equal(response.method, StunMethod.Binding);
  assert.deepEqual(response.transactionId, request.transactionId);
  assert.deepEqual(getAttribute(response, XorMappedAddress), SOURCE);
  assert.equal(getAttribute(response, Software), undefined);
  assert.equal(verifyFingerprint(response), false, "no FINGERPRINT unless the client used one");
});

Deno.test("an IPv6 sender gets an IPv6 XOR-MAPPED-ADDRESS", () => {
  const source: TransportAddress = { family: "IPv6", address: "2001:db8::42", port: 1 };
  const answer = answerBinding(encodeMessage(bindingRequest()), source);
  assert.deepEqual(getAttribute(decodeMessage(answer!), XorMappedAddress), source);
});

Deno.test("a fingerprinted request gets a fingerprinted response and SOFTWARE when configured", () => {
  const answer = answerBinding(encodeMessage(bindingRequest(), { fingerprint: true }), SOURCE, {
    software: "tun test",
  });
  const response = decodeMessage(answer!);
  assert.equal(verifyFingerprint(response), true);
  assert.equal(getAttribute(response, Software), "tun test");
  assert.equal(response.attributes.at(-1)?.type, AttrType.FINGERPRINT);
});

Deno.test("unknown comprehension-required attributes get 420 listing each once (RFC 8489 §6.3.1)", () => {
  const request = bindingRequest([
    { type: 0x0003, value: hex("00000006") }, // RFC 5780 CHANGE-REQUEST
    { type: 0x8fff, value: hex("") }, // unknown but comprehension-optional: fine
    { type: 0x0027, value: hex("1234 0000") }, // RFC 5780 RESPONSE-PORT
    { type: 0x0003, value: hex("00000000") },
  ]);
  const response = decodeMessage(answerBinding(encodeMessage(request), SOURCE)!);
  assert.equal(response.class, StunClass.ErrorResponse);
  assert.deepEqual(response.transactionId, request.transactionId);
  assert.deepEqual(getAttribute(response, ErrorCode), { code: 420, reason: "Unknown Attribute" });
  assert.deepEqual(getAttribute(response, UnknownAttributes), [0x0003, 0x0027]);
  assert.equal(getAttribute(response, XorMappedAddress), undefined);
});

Deno.test("unknown comprehension-optional and ICE attributes do not stop an answer", () => {
  const request = bindingRequest([
    { type: 0x8fff, value: hex("01") },
    { type: AttrType.PRIORITY, value: hex("6e0001ff") },
    { type: AttrType.USE_CANDIDATE, value: hex("") },
    { type: AttrType.USERNAME, value: hex("61") },
  ]);
  const response = decodeMessage(answerBinding(encodeMessage(request), SOURCE)!);
  assert.equal(response.class, StunClass.SuccessResponse);
});

Deno.test("datagrams that are not valid Binding requests get no answer", () => {
  const request = encodeMessage(bindingRequest(), { fingerprint: true });
  const badFingerprint = request.slice();
  badFingerprint[badFingerprint.length - 1] ^= 1;
  const withTxid = (cls: StunClass, method: number = StunMethod.Binding) =>
    encodeMessage(createMessage(method, cls));
  const dropped: [name: string, datagram: Uint8Array][] = [
    ["an empty datagram", new Uint8Array()],
    ["plain text", new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")],
    ["a truncated request", request.subarray(0, request.length - 4)],
    ["a request with a wrong FINGERPRINT", badFingerprint],
    ["a Binding indication", withTxid(StunClass.Indication)],
    ["a Binding success response", withTxid(StunClass.SuccessResponse)],
    ["a Binding error response", withTxid(StunClass.ErrorResponse)],
    ["a TURN Allocate request", withTxid(StunClass.Request, 0x003)],
  ];
  for (const [name, datagram] of dropped) {
    assert.equal(answerBinding(datagram, SOURCE), undefined, name);
  }
});

Deno.test("the response to a 420 carries SOFTWARE and FINGERPRINT like a success would", () => {
  const request = bindingRequest([{ type: 0x0003, value: hex("00000000") }]);
  setAttribute(request, Software, "client");
  const answer = answerBinding(encodeMessage(request, { fingerprint: true }), SOURCE, {
    software: "server",
  });
  const response = decodeMessage(answer!);
  assert.equal(getAttribute(response, Software), "server");
  assert.equal(verifyFingerprint(response), true);
});
