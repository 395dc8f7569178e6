/** The UDP server and client on real loopback sockets. */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  createMessage,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  ErrorCodes,
  getAttribute,
  setAttribute,
  startStunServer,
  stunBinding,
  StunBindingError,
  StunClass,
  StunMethod,
  type StunServer,
  XorMappedAddress,
} from "../../lib/stun/mod.ts";
import { hex } from "./_helpers.ts";

/** A bound UDP socket that closes itself at the end of the scope, with a queue of datagrams. */
async function udpSocket(type: "udp4" | "udp6", address: string) {
  const socket = dgram.createSocket(type);
  const received: Uint8Array[] = [];
  const waiters: (() => void)[] = [];
  socket.on("message", (data: Uint8Array) => {
    received.push(data);
    waiters.splice(0).forEach((wake) => wake());
  });
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return {
    socket,
    received,
    port: socket.address().port,
    send(data: Uint8Array, port: number, host: string) {
      socket.send(data, port, host);
    },
    /** The next datagram not yet taken, waiting up to `ms`. */
    async next(ms = 2000): Promise<Uint8Array> {
      const deadline = Date.now() + ms;
      while (received.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no datagram within ${ms} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received.shift()!;
    },
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function bindingRequest() {
  return createMessage(StunMethod.Binding, StunClass.Request);
}

Deno.test("the server answers a Binding request with the client socket's address and port", async () => {
  await using server = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  await using client = await udpSocket("udp4", "127.0.0.1");
  assert.notEqual(server.port, 0);
  assert.equal(server.hostname, "127.0.0.1");

  const request = bindingRequest();
  client.send(encodeMessage(request), server.port, "127.0.0.1");
  const response = decodeMessage(await client.next());
  assert.equal(response.class, StunClass.SuccessResponse);
  assert.deepEqual(response.transactionId, request.transactionId);
  assert.deepEqual(getAttribute(response, XorMappedAddress), {
    family: "IPv4",
    address: "127.0.0.1",
    port: client.port,
  });
});

Deno.test("garbage datagrams get no answer and the server keeps answering", async () => {
  await using server = await startStunServer({ hostname: "127.0.0.1", port: 0, software: "tun" });
  await using client = await udpSocket("udp4", "127.0.0.1");
  const garbage = [
    new Uint8Array(0),
    new TextEncoder().encode("hello"),
    hex("0001 0000 2112a442 0102"), // truncated header
    hex("0001 0008 2112a442 0102030405060708090a0b0c 0006 00ff 61626364"), // attribute past end
    encodeMessage(createMessage(StunMethod.Binding, StunClass.SuccessResponse)),
    encodeMessage(createMessage(StunMethod.Binding, StunClass.Indication)),
    new Uint8Array(60_000).fill(0xff),
  ];
  for (const datagram of garbage) client.send(datagram, server.port, "127.0.0.1");

  const request = bindingRequest();
  client.send(encodeMessage(request), server.port, "127.0.0.1");
  const response = decodeMessage(await client.next());
  assert.deepEqual(
    response.transactionId,
    request.transactionId,
    "the first reply is to the request",
  );
  // Anything answered to the garbage would have arrived by now, before or after the reply.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(client.received.length, 0, "a garbage datagram was answered");
});

Deno.test("stunBinding learns the reflexive address from the server", async () => {
  await using server = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  const mapped = await stunBinding({ host: "127.0.0.1", port: server.port }, { timeoutMs: 2000 });
  assert.equal(mapped.family, "IPv4");
  assert.equal(mapped.address, "127.0.0.1");
  assert.ok(mapped.port > 0);
});

Deno.test("stunBinding on a given socket reports that socket's port and leaves it open", async () => {
  await using server = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  await using client = await udpSocket("udp4", "127.0.0.1");
  const mapped = await stunBinding({ host: "127.0.0.1", port: server.port }, {
    socket: client.socket,
  });
  assert.deepEqual(mapped, { family: "IPv4", address: "127.0.0.1", port: client.port });
  // Still open: it can take part in a second transaction.
  const again = await stunBinding({ host: "127.0.0.1", port: server.port }, {
    socket: client.socket,
  });
  assert.equal(again.port, client.port);
});

Deno.test("stunBinding retransmits with backoff and gives up after timeoutMs", async () => {
  await using silent = await udpSocket("udp4", "127.0.0.1");
  const started = Date.now();
  await assert.rejects(
    stunBinding({ host: "127.0.0.1", port: silent.port }, { timeoutMs: 500, rtoMs: 50 }),
    (err: unknown) => err instanceof StunBindingError && err.code === undefined,
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 450 && elapsed < 2000, `gave up after ${elapsed} ms`);
  // Sends at 0, 50, 150, 350 ms: four copies of one transaction.
  assert.equal(silent.received.length, 4);
  const ids = silent.received.map((d) => decodeMessage(d).transactionId.join(","));
  assert.equal(new Set(ids).size, 1);
});

Deno.test("stunBinding rejects with the code of an error response", async () => {
  await using fake = await udpSocket("udp4", "127.0.0.1");
  fake.socket.on("message", (data: Uint8Array, rinfo: dgram.RemoteInfo) => {
    const request = decodeMessage(data);
    const reply = createMessage(
      StunMethod.Binding,
      StunClass.ErrorResponse,
      [],
      request.transactionId,
    );
    setAttribute(reply, ErrorCode, ErrorCodes.ServerError);
    fake.socket.send(encodeMessage(reply), rinfo.port, rinfo.address);
  });
  await assert.rejects(
    stunBinding({ host: "127.0.0.1", port: fake.port }, { timeoutMs: 2000 }),
    (err: unknown) => err instanceof StunBindingError && err.code === 500,
  );
});

Deno.test("closing the server releases its port", async () => {
  const server: StunServer = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  const port = server.port;
  await server.close();
  await server.close(); // a second close is harmless
  const socket = dgram.createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, "127.0.0.1", resolve);
    });
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
});

Deno.test("starting on a port already in use fails instead of hanging", async () => {
  await using first = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  await assert.rejects(startStunServer({ hostname: "127.0.0.1", port: first.port }));
});

Deno.test("a server on :: answers IPv6 clients and reports IPv4 clients as IPv4", async () => {
  await using server = await startStunServer({ hostname: "::", port: 0 });
  const v6 = await stunBinding({ host: "::1", port: server.port }, { timeoutMs: 2000 });
  assert.equal(v6.family, "IPv6");
  assert.equal(v6.address, "::1");
  const v4 = await stunBinding({ host: "127.0.0.1", port: server.port }, { timeoutMs: 2000 });
  assert.equal(v4.family, "IPv4");
  assert.equal(v4.address, "127.0.0.1");
});
