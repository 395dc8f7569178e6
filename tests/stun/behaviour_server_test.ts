/**
 * The RFC 5780 responder on real loopback sockets. 127.0.0.1 and 127.0.0.2
 * are both loopback addresses on Linux, so one host has the two addresses the
 * server needs.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  bindUdp,
  ChangeRequest,
  type ChangeRequestFlags,
  closeUdp,
  createMessage,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  getAttribute,
  OtherAddress,
  ResponseOrigin,
  sendTo,
  setAttribute,
  startBehaviourServer,
  StunClass,
  StunMethod,
  type TransportAddress,
  XorMappedAddress,
} from "../../lib/stun/mod.ts";

const A1 = "127.0.0.1";
const A2 = "127.0.0.2";

/** A client socket on 127.0.0.1 that keeps every datagram with where it came from. */
async function client() {
  const socket = await bindUdp(A1, 0);
  const queue: { response: DecodedStunMessage; from: string }[] = [];
  const waiters: (() => void)[] = [];
  socket.on("message", (data: Uint8Array, rinfo: dgram.RemoteInfo) => {
    queue.push({ response: decodeMessage(data), from: `${rinfo.address}:${rinfo.port}` });
    waiters.splice(0).forEach((wake) => wake());
  });
  return {
    port: socket.address().port,
    /** Send a Binding request to `host:port` and wait for the next datagram. */
    async ask(host: string, port: number, change?: ChangeRequestFlags) {
      const request = createMessage(StunMethod.Binding, StunClass.Request);
      if (change) setAttribute(request, ChangeRequest, change);
      socket.send(encodeMessage(request), port, host);
      const deadline = Date.now() + 2000;
      while (queue.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no answer from ${host}:${port}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const answer = queue.shift()!;
      assert.deepEqual(answer.response.transactionId, request.transactionId);
      return answer;
    },
    [Symbol.asyncDispose]: () => closeUdp(socket),
  };
}

const text = (a: TransportAddress | undefined) => a && `${a.address}:${a.port}`;

Deno.test("each CHANGE-REQUEST is answered from the socket it names, as RESPONSE-ORIGIN says", async () => {
  await using server = await startBehaviourServer({
    primaryHost: A1,
    altHost: A2,
    port: 0,
    altPort: 0,
  });
  await using me = await client();
  const { port: p1, altPort: p2 } = server;
  const cases: [ChangeRequestFlags | undefined, string][] = [
    [undefined, `${A1}:${p1}`],
    [{ changeIp: false, changePort: false }, `${A1}:${p1}`],
    [{ changeIp: false, changePort: true }, `${A1}:${p2}`],
    [{ changeIp: true, changePort: false }, `${A2}:${p1}`],
    [{ changeIp: true, changePort: true }, `${A2}:${p2}`],
  ];
  for (const [change, expected] of cases) {
    const { response, from } = await me.ask(A1, p1, change);
    const what = JSON.stringify(change);
    assert.equal(response.class, StunClass.SuccessResponse, what);
    assert.equal(from, expected, `${what}: datagram source`);
    assert.equal(
      text(getAttribute(response, ResponseOrigin)),
      expected,
      `${what}: RESPONSE-ORIGIN`,
    );
    assert.equal(text(getAttribute(response, OtherAddress)), `${A2}:${p2}`, what);
    assert.equal(text(getAttribute(response, XorMappedAddress)), `${A1}:${me.port}`, what);
  }
});

Deno.test("all four sockets answer, each naming its diagonal opposite in OTHER-ADDRESS", async () => {
  await using server = await startBehaviourServer({
    primaryHost: A1,
    altHost: A2,
    port: 0,
    altPort: 0,
  });
  await using me = await client();
  const { port: p1, altPort: p2 } = server;
  assert.notEqual(p1, p2);
  assert.deepEqual(server.otherAddress, { family: "IPv4", address: A2, port: p2 });
  const sockets: [string, number, string][] = [
    [A1, p1, `${A2}:${p2}`],
    [A1, p2, `${A2}:${p1}`],
    [A2, p1, `${A1}:${p2}`],
    [A2, p2, `${A1}:${p1}`],
  ];
  for (const [host, port, other] of sockets) {
    const { response, from } = await me.ask(host, port);
    assert.equal(from, `${host}:${port}`);
    assert.equal(text(getAttribute(response, OtherAddress)), other, `${host}:${port}`);
  }
});

Deno.test("with one address an IP change is refused with 420 and a port change answered", async () => {
  await using server = await startBehaviourServer({ primaryHost: A1, port: 0, altPort: 0 });
  await using me = await client();
  assert.equal(server.otherAddress, null);
  assert.equal(server.altHost, null);

  const refused = await me.ask(A1, server.port, { changeIp: true, changePort: true });
  assert.equal(refused.response.class, StunClass.ErrorResponse);
  assert.equal(getAttribute(refused.response, ErrorCode)?.code, 420);
  assert.equal(refused.from, `${A1}:${server.port}`);

  const moved = await me.ask(A1, server.port, { changeIp: false, changePort: true });
  assert.equal(moved.response.class, StunClass.SuccessResponse);
  assert.equal(moved.from, `${A1}:${server.altPort}`);
  assert.equal(getAttribute(moved.response, OtherAddress), undefined);

  const alt = await me.ask(A1, server.altPort);
  assert.equal(alt.from, `${A1}:${server.altPort}`);
  assert.equal(text(getAttribute(alt.response, XorMappedAddress)), `${A1}:${me.port}`);
});

Deno.test("with primarySocket, its owner's socket sends what stays on the primary", async () => {
  // The owner (the TURN server in the relay) reads the primary socket and hands Binding over.
  const owner = await bindUdp(A1, 0);
  try {
    await using server = await startBehaviourServer({
      primaryHost: A1,
      altHost: A2,
      port: owner.address().port,
      altPort: 0,
      primarySocket: { send: (bytes, to) => sendTo(owner, bytes, to) },
    });
    owner.on("message", (data: Uint8Array, rinfo: dgram.RemoteInfo) => {
      server.answerPrimary(data, { family: "IPv4", address: rinfo.address, port: rinfo.port });
    });
    await using me = await client();
    const plain = await me.ask(A1, server.port);
    assert.equal(plain.from, `${A1}:${server.port}`);
    assert.equal(text(getAttribute(plain.response, OtherAddress)), `${A2}:${server.altPort}`);
    const moved = await me.ask(A1, server.port, { changeIp: true, changePort: true });
    assert.equal(moved.from, `${A2}:${server.altPort}`);
    // A request reaching A2:P2 asking for both changes is answered from the owner's socket.
    const back = await me.ask(A2, server.altPort, { changeIp: true, changePort: true });
    assert.equal(back.from, `${A1}:${server.port}`);
  } finally {
    await closeUdp(owner);
  }
});

Deno.test("a fixed port taken on the second address fails the start and releases the rest", async () => {
  const squatter = await bindUdp(A2, 0);
  const taken = squatter.address().port;
  try {
    await assert.rejects(
      startBehaviourServer({ primaryHost: A1, altHost: A2, port: taken, altPort: 0 }),
      /EADDRINUSE/,
    );
    // 127.0.0.1 on that port was bound and must have been released again.
    const check = await bindUdp(A1, taken);
    await closeUdp(check);
  } finally {
    await closeUdp(squatter);
  }
});

Deno.test("close releases every port, and is safe to call twice", async () => {
  const server = await startBehaviourServer({ primaryHost: A1, altHost: A2, port: 0, altPort: 0 });
  await server.close();
  await server.close();
  for (const host of [A1, A2]) {
    for (const port of [server.port, server.altPort]) await closeUdp(await bindUdp(host, port));
  }
});

Deno.test("startBehaviourServer refuses bad options with a TypeError or RangeError naming them", async () => {
  const sender = { send() {} };
  const bad: [string, Parameters<typeof startBehaviourServer>[0]][] = [
    ["a host name", { primaryHost: "localhost", port: 0, altPort: 0 }],
    ["altHost of another family", { primaryHost: A1, altHost: "::1", port: 0, altPort: 0 }],
    ["a wildcard with altHost", { primaryHost: "0.0.0.0", altHost: A2, port: 0, altPort: 0 }],
    ["altHost equal to primaryHost", { primaryHost: A1, altHost: A1, port: 0, altPort: 0 }],
    ["equal ports", { primaryHost: A1, port: 3478, altPort: 3478 }],
    ["port 65536", { primaryHost: A1, port: 65536, altPort: 0 }],
    ["primarySocket with port 0", { primaryHost: A1, port: 0, altPort: 0, primarySocket: sender }],
    ["a 128-character SOFTWARE", {
      primaryHost: A1,
      port: 0,
      altPort: 0,
      software: "x".repeat(128),
    }],
  ];
  for (const [name, options] of bad) {
    await assert.rejects(
      startBehaviourServer(options),
      (err) => err instanceof TypeError || err instanceof RangeError,
      name,
    );
  }
});

Deno.test("on a wildcard address the server answers from the port asked for, without RESPONSE-ORIGIN", async () => {
  await using server = await startBehaviourServer({ primaryHost: "0.0.0.0", port: 0, altPort: 0 });
  await using me = await client();
  const moved = await me.ask(A1, server.port, { changeIp: false, changePort: true });
  assert.equal(moved.from, `${A1}:${server.altPort}`);
  assert.equal(getAttribute(moved.response, ResponseOrigin), undefined);
  assert.equal(text(getAttribute(moved.response, XorMappedAddress)), `${A1}:${me.port}`);
});
