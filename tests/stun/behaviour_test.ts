/** The RFC 5780 responder's decisions (lib/stun/behaviour.ts), tested without sockets. */
import assert from "node:assert/strict";
import {
  answerBehaviour,
  AttrType,
  type BehaviourLayout,
  ChangeRequest,
  type ChangeRequestFlags,
  createMessage,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  getAttribute,
  MappedAddress,
  OtherAddress,
  Padding,
  ResponseOrigin,
  ResponsePort,
  setAttribute,
  type SocketSlot,
  Software,
  StunClass,
  StunMethod,
  type TransportAddress,
  UnknownAttributes,
  verifyFingerprint,
  XorMappedAddress,
} from "../../lib/stun/mod.ts";

const SOURCE: TransportAddress = { family: "IPv4", address: "198.51.100.7", port: 50123 };
const A1 = "192.0.2.1";
const A2 = "192.0.2.2";
const TWO: BehaviourLayout = { addresses: [A1, A2], ports: [3478, 3479] };
const ONE: BehaviourLayout = { addresses: [A1], ports: [3478, 3479] };
const PRIMARY: SocketSlot = { ip: 0, port: 0 };

function request(change?: ChangeRequestFlags) {
  const msg = createMessage(StunMethod.Binding, StunClass.Request);
  if (change) setAttribute(msg, ChangeRequest, change);
  return msg;
}

function at(layout: BehaviourLayout, slot: SocketSlot): TransportAddress {
  return { family: "IPv4", address: layout.addresses[slot.ip]!, port: layout.ports[slot.port] };
}

const flip = (i: 0 | 1): 0 | 1 => i === 0 ? 1 : 0;
const SLOTS: SocketSlot[] = [{ ip: 0, port: 0 }, { ip: 0, port: 1 }, { ip: 1, port: 0 }, {
  ip: 1,
  port: 1,
}];
const FLAGS: ChangeRequestFlags[] = [
  { changeIp: false, changePort: false },
  { changeIp: true, changePort: false },
  { changeIp: false, changePort: true },
  { changeIp: true, changePort: true },
];

for (const receivedOn of SLOTS) {
  for (const flags of FLAGS) {
    const name = `${receivedOn.ip ? "A2" : "A1"}:${receivedOn.port ? "P2" : "P1"}`;
    const what = [flags.changeIp && "change IP", flags.changePort && "change port"]
      .filter(Boolean).join(" and ") || "no change";
    Deno.test(`a request to ${name} asking ${what} is answered as RFC 5780 Table 1 says`, () => {
      const answer = answerBehaviour(encodeMessage(request(flags)), SOURCE, receivedOn, TWO)!;
      const from: SocketSlot = {
        ip: flags.changeIp ? flip(receivedOn.ip) : receivedOn.ip,
        port: flags.changePort ? flip(receivedOn.port) : receivedOn.port,
      };
      assert.deepEqual(answer.from, from);
      assert.deepEqual(answer.to, SOURCE);
      const response = decodeMessage(answer.response);
      assert.equal(response.class, StunClass.SuccessResponse);
      assert.deepEqual(getAttribute(response, XorMappedAddress), SOURCE);
      assert.deepEqual(getAttribute(response, MappedAddress), SOURCE);
      assert.deepEqual(getAttribute(response, ResponseOrigin), at(TWO, from));
      // OTHER-ADDRESS is Ca:Cp of where the request arrived, whatever the flags.
      assert.deepEqual(
        getAttribute(response, OtherAddress),
        at(TWO, { ip: flip(receivedOn.ip), port: flip(receivedOn.port) }),
      );
    });
  }
}

Deno.test("with one address there is no OTHER-ADDRESS, and a port change is still honoured", () => {
  const plain = decodeMessage(
    answerBehaviour(encodeMessage(request()), SOURCE, PRIMARY, ONE)!
      .response,
  );
  assert.equal(getAttribute(plain, OtherAddress), undefined);
  assert.deepEqual(getAttribute(plain, ResponseOrigin), at(ONE, PRIMARY));

  const answer = answerBehaviour(
    encodeMessage(request({ changeIp: false, changePort: true })),
    SOURCE,
    PRIMARY,
    ONE,
  )!;
  assert.deepEqual(answer.from, { ip: 0, port: 1 });
  const response = decodeMessage(answer.response);
  assert.equal(response.class, StunClass.SuccessResponse);
  assert.deepEqual(getAttribute(response, ResponseOrigin), { ...at(ONE, PRIMARY), port: 3479 });
  assert.equal(getAttribute(response, OtherAddress), undefined);
});

Deno.test("with one address an IP change gets 420 naming CHANGE-REQUEST (RFC 5780 §6.1)", () => {
  for (const changePort of [false, true]) {
    const sent = request({ changeIp: true, changePort });
    const answer = answerBehaviour(encodeMessage(sent), SOURCE, PRIMARY, ONE)!;
    assert.deepEqual(answer.from, PRIMARY, "errors leave from where the request arrived");
    assert.deepEqual(answer.to, SOURCE);
    const response = decodeMessage(answer.response);
    assert.equal(response.class, StunClass.ErrorResponse);
    assert.deepEqual(response.transactionId, sent.transactionId);
    assert.equal(getAttribute(response, ErrorCode)?.code, 420);
    assert.deepEqual(getAttribute(response, UnknownAttributes), [AttrType.CHANGE_REQUEST]);
  }
});

Deno.test("RESPONSE-PORT sends the answer to that port of the requester's IP", () => {
  const msg = request({ changeIp: false, changePort: true });
  setAttribute(msg, ResponsePort, 40000);
  const answer = answerBehaviour(encodeMessage(msg), SOURCE, PRIMARY, TWO)!;
  assert.deepEqual(answer.to, { ...SOURCE, port: 40000 });
  assert.deepEqual(answer.from, { ip: 0, port: 1 });
  // XOR-MAPPED-ADDRESS still names where the request came from.
  assert.deepEqual(getAttribute(decodeMessage(answer.response), XorMappedAddress), SOURCE);
});

Deno.test("PADDING is echoed as long as the request's, never longer", () => {
  const msg = request();
  setAttribute(msg, Padding, 1500);
  const answer = answerBehaviour(encodeMessage(msg), SOURCE, PRIMARY, TWO)!;
  const response = decodeMessage(answer.response);
  assert.equal(getAttribute(response, Padding), 1500);
  assert.ok(answer.response.length < encodeMessage(msg).length + 100, "no amplification");
  const none = decodeMessage(
    answerBehaviour(encodeMessage(request()), SOURCE, PRIMARY, TWO)!
      .response,
  );
  assert.equal(getAttribute(none, Padding), undefined);
});

Deno.test("requests the RFC forbids or this server cannot read get 400 or 420", () => {
  const bad: [string, ReturnType<typeof request>, number][] = [];
  {
    const msg = request();
    setAttribute(msg, Padding, 8);
    setAttribute(msg, ResponsePort, 40000);
    bad.push(["PADDING with RESPONSE-PORT (RFC 5780 §6.1)", msg, 400]);
  }
  {
    const msg = request();
    setAttribute(msg, ResponsePort, 0);
    bad.push(["RESPONSE-PORT 0", msg, 400]);
  }
  bad.push([
    "a 2-byte CHANGE-REQUEST",
    createMessage(StunMethod.Binding, StunClass.Request, [{
      type: AttrType.CHANGE_REQUEST,
      value: new Uint8Array([0, 6]),
    }]),
    400,
  ]);
  bad.push([
    "an unknown comprehension-required attribute",
    createMessage(StunMethod.Binding, StunClass.Request, [{
      type: 0x0031,
      value: new Uint8Array(4),
    }]),
    420,
  ]);
  for (const [name, msg, code] of bad) {
    const answer = answerBehaviour(encodeMessage(msg), SOURCE, PRIMARY, TWO);
    assert.ok(answer, name);
    const response = decodeMessage(answer.response);
    assert.equal(response.class, StunClass.ErrorResponse, name);
    assert.equal(getAttribute(response, ErrorCode)?.code, code, name);
    assert.deepEqual(answer.from, PRIMARY, name);
  }
});

Deno.test("what is not a valid Binding request is dropped silently", () => {
  const indication = createMessage(StunMethod.Binding, StunClass.Indication);
  const allocate = createMessage(0x003, StunClass.Request);
  const corrupt = encodeMessage(request(), { fingerprint: true });
  corrupt[corrupt.length - 1] ^= 1; // FINGERPRINT no longer matches
  for (
    const datagram of [
      new Uint8Array(0),
      new Uint8Array(20),
      encodeMessage(indication),
      encodeMessage(allocate),
      corrupt,
    ]
  ) {
    assert.equal(answerBehaviour(datagram, SOURCE, PRIMARY, TWO), undefined);
  }
});

Deno.test("answers carry SOFTWARE when configured and FINGERPRINT when the request had one", () => {
  const layout = { ...TWO, software: "tun test" };
  const answer = answerBehaviour(encodeMessage(request(), { fingerprint: true }), SOURCE, {
    ip: 1,
    port: 1,
  }, layout)!;
  const response = decodeMessage(answer.response);
  assert.equal(getAttribute(response, Software), "tun test");
  assert.equal(verifyFingerprint(response), true);
});

Deno.test("a wildcard primary address answers without RESPONSE-ORIGIN (it cannot know its IP)", () => {
  const layout: BehaviourLayout = { addresses: ["0.0.0.0"], ports: [3478, 3479] };
  const answer = answerBehaviour(encodeMessage(request()), SOURCE, PRIMARY, layout)!;
  const response = decodeMessage(answer.response);
  assert.equal(getAttribute(response, ResponseOrigin), undefined);
  assert.deepEqual(getAttribute(response, XorMappedAddress), SOURCE);
});
