/**
 * The QUIC data plane's guest port (lib/tunnel/guest_conns.ts): connections
 * through the runtime's own TCP, waiting for a link as serveGuestPort's do.
 * The links here echo each connection's bytes back through tcp_conn.ts.
 */
import { assertEquals } from "../_util/assert.ts";
import { type ConnLink, serveGuestConns } from "../../lib/tunnel/guest_conns.ts";
import { bridgeTcpConn } from "../../lib/tunnel/tcp_conn.ts";
import { mulberry32, randomBytes, sha256, tcpExchange, withTimeout } from "./helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** A link whose every connection is answered with its own bytes, then FIN. */
function echoLink(): ConnLink & { closed: boolean; carried: number } {
  const link = {
    closed: false,
    carried: 0,
    bridge: () => Promise.reject(new Error("node:net sockets are not expected here")),
    bridgeConn(conn: Parameters<ConnLink["bridgeConn"]>[0]) {
      link.carried++;
      // Copies each chunk, as QUIC and sealed streams are done with it once written.
      const loop = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, c) => c.enqueue(chunk.slice()),
      });
      return bridgeTcpConn(loop, conn, { sent: 0, received: 0 });
    },
  };
  return link;
}

Deno.test("8 MB through the guest port come back byte-identical, ended by FIN", async () => {
  await using port = await serveGuestConns(echoLink());
  const data = randomBytes(mulberry32(21), 8 * 1024 * 1024);
  const result = await withTimeout(tcpExchange(port.port, data), 20_000, "echo");
  assertEquals(sha256(result.received), sha256(data));
  assertEquals(result.gotEnd, true);
});

Deno.test("connections made before the link exists wait for it and then succeed", async () => {
  let attach!: (link: ConnLink) => void;
  await using port = await serveGuestConns(new Promise<ConnLink>((r) => attach = r));
  const early = tcpExchange(port.port, text("early bird"));
  await new Promise((r) => setTimeout(r, 50)); // the QUIC connection is "still being set up"
  attach(echoLink());
  const result = await withTimeout(early, 5000, "early connection");
  assertEquals(new TextDecoder().decode(result.received), "early bird");
  assertEquals(result.gotEnd, true);
});

Deno.test("a connection that waits longer than pendingTimeoutMs for a link is closed", async () => {
  await using port = await serveGuestConns(null, { pendingTimeoutMs: 50 });
  const result = await withTimeout(tcpExchange(port.port, text("anyone?")), 5000, "close");
  assertEquals(result.received.byteLength, 0);
});

Deno.test("a replacement link takes new connections after the first one closes", async () => {
  const first = echoLink();
  const second = echoLink();
  await using port = await serveGuestConns(first);
  first.closed = true;
  const pending = tcpExchange(port.port, text("via the new path"));
  await new Promise((r) => setTimeout(r, 20));
  port.attach(second);
  const result = await withTimeout(pending, 5000, "new path");
  assertEquals(new TextDecoder().decode(result.received), "via the new path");
  assertEquals([first.carried, second.carried], [0, 1]);
});
