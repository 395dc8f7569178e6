/**
 * The TURN server's `bindingResponder` hook with the RFC 5780 behaviour
 * server behind it, wired the way the relay wires them: Binding on the TURN
 * UDP port gets OTHER-ADDRESS and honours CHANGE-REQUEST, and everything
 * else on that port is still TURN.
 */
import assert from "node:assert/strict";
import {
  answerBinding,
  type BehaviourServer,
  bindUdp,
  ChangeRequest,
  type ChangeRequestFlags,
  closeUdp,
  createMessage,
  decodeMessage,
  encodeMessage,
  getAttribute,
  OtherAddress,
  RequestedTransport,
  ResponseOrigin,
  setAttribute,
  startBehaviourServer,
  StunClass,
  StunMethod,
  TRANSPORT_UDP,
} from "../../lib/stun/mod.ts";
import { startTurnServer, TurnMethod } from "../../lib/turn/mod.ts";
import { probeNat } from "../../lib/nat/mod.ts";
import { errorCodeOf, TestTurnClient } from "./_client.ts";

/** A TURN server on 127.0.0.1 with a behaviour server on 127.0.0.1 and 127.0.0.2 behind it. */
async function startWired() {
  // Filled in once the behaviour server is up; it needs the TURN port first.
  const late: { behaviour?: BehaviourServer } = {};
  const turn = await startTurnServer({
    hostname: "127.0.0.1",
    port: 0,
    realm: "tun.test",
    secret: "s",
    // Until then, Binding is answered plainly.
    bindingResponder: (datagram, source) =>
      late.behaviour
        ? late.behaviour.answerPrimary(datagram, source)
        : answerBinding(datagram, source),
  });
  const behaviour = late.behaviour = await startBehaviourServer({
    primaryHost: "127.0.0.1",
    altHost: "127.0.0.2",
    port: turn.udpPort,
    altPort: 0,
    primarySocket: turn.udp,
  });
  return {
    turn,
    behaviour,
    [Symbol.asyncDispose]: async () => {
      await behaviour.close();
      await turn.close();
    },
  };
}

/** One Binding request from a fresh socket; the response and where it came from. */
async function ask(port: number, change?: ChangeRequestFlags) {
  const socket = await bindUdp("127.0.0.1", 0);
  try {
    const request = createMessage(StunMethod.Binding, StunClass.Request);
    if (change) setAttribute(request, ChangeRequest, change);
    const answer = new Promise<{ data: Uint8Array; from: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer")), 2000);
      socket.once("message", (data: Uint8Array, rinfo: { address: string; port: number }) => {
        clearTimeout(timer);
        resolve({ data, from: `${rinfo.address}:${rinfo.port}` });
      });
    });
    socket.send(encodeMessage(request), port, "127.0.0.1");
    const { data, from } = await answer;
    return { response: decodeMessage(data), from };
  } finally {
    await closeUdp(socket);
  }
}

Deno.test("Binding on the TURN UDP port carries OTHER-ADDRESS and is answered from the socket CHANGE-REQUEST names", async () => {
  await using wired = await startWired();
  const { udpPort } = wired.turn;
  const p2 = wired.behaviour.altPort;
  const cases: [ChangeRequestFlags | undefined, string][] = [
    [undefined, `127.0.0.1:${udpPort}`],
    [{ changeIp: false, changePort: true }, `127.0.0.1:${p2}`],
    [{ changeIp: true, changePort: false }, `127.0.0.2:${udpPort}`],
    [{ changeIp: true, changePort: true }, `127.0.0.2:${p2}`],
  ];
  for (const [change, expected] of cases) {
    const { response, from } = await ask(udpPort, change);
    const what = JSON.stringify(change);
    assert.equal(response.class, StunClass.SuccessResponse, what);
    assert.equal(from, expected, what);
    const origin = getAttribute(response, ResponseOrigin);
    assert.equal(`${origin?.address}:${origin?.port}`, expected, what);
    assert.deepEqual(getAttribute(response, OtherAddress), {
      family: "IPv4",
      address: "127.0.0.2",
      port: p2,
    });
  }
});

Deno.test("with the hook set, other requests on the UDP port and Binding over TCP are still TURN's", async () => {
  await using wired = await startWired();
  await using udp = await TestTurnClient.udp(wired.turn.udpPort);
  const allocate = createMessage(TurnMethod.Allocate, StunClass.Request);
  setAttribute(allocate, RequestedTransport, TRANSPORT_UDP);
  assert.equal(errorCodeOf(await udp.request(allocate)), 401);

  await using tcp = await TestTurnClient.tcp(wired.turn.tcpPort);
  const binding = await tcp.request(createMessage(StunMethod.Binding, StunClass.Request));
  assert.equal(binding.class, StunClass.SuccessResponse);
  assert.equal(getAttribute(binding, OtherAddress), undefined, "TCP gets the plain answer");
});

Deno.test("probeNat through the TURN port finds loopback endpoint-independent in both ways", async () => {
  await using wired = await startWired();
  const report = await probeNat({ host: "127.0.0.1", port: wired.turn.udpPort });
  assert.equal(report.mapping, "endpoint-independent", JSON.stringify(report));
  assert.equal(report.filtering, "endpoint-independent", JSON.stringify(report));
  assert.deepEqual(report.untested, []);
});
