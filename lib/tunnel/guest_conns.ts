/**
 * The guest port of the QUIC data plane: serveGuestPort's contract (connections
 * wait, unread, for a link; a replacement link takes new ones), but accepted
 * through the runtime's own TCP (lib/runtime listenTcp) rather than node:net,
 * and bridged with tcp_conn.ts. QUIC streams are the runtime's own too, so a
 * chunk crosses no node:net socket on the way. Deno only, as QUIC is.
 */
import { listenTcp, type TcpConnLike } from "../runtime/mod.ts";
import type { GuestPort, GuestPortOptions, TunnelLink } from "./tcp.ts";
import type { Mux } from "./mux.ts";

/** A link that can carry runtime TCP connections (lib/peer/quic_link.ts makes them). */
export type ConnLink = TunnelLink & Required<Pick<TunnelLink, "bridgeConn">>;

/**
 * Listen on a local TCP port; every accepted connection goes through the
 * attached link's `bridgeConn`. `attach` takes only such links (a Mux has
 * none: the DataChannel data plane keeps serveGuestPort).
 */
export async function serveGuestConns(
  first: ConnLink | Promise<ConnLink> | null,
  options: GuestPortOptions = {},
): Promise<GuestPort> {
  const pendingTimeoutMs = options.pendingTimeoutMs ?? 30_000;
  if (!Number.isInteger(pendingTimeoutMs) || pendingTimeoutMs < 1) {
    throw new RangeError(`pendingTimeoutMs must be a positive integer, got ${pendingTimeoutMs}`);
  }
  const listener = await listenTcp(options.hostname ?? "127.0.0.1", options.port ?? 0);

  let current: ConnLink | null = null;
  let closing = false;
  const waiting = new Map<TcpConnLike, ReturnType<typeof setTimeout>>();
  const bridges = new Set<Promise<void>>();
  const open = new Set<TcpConnLike>();

  const bridge = (conn: TcpConnLike): boolean => {
    if (!current || current.closed) return false;
    open.add(conn);
    const done = current.bridgeConn(conn);
    bridges.add(done);
    done.finally(() => {
      bridges.delete(done);
      open.delete(conn);
    });
    return true;
  };
  const wait = (conn: TcpConnLike) => {
    waiting.set(
      conn,
      setTimeout(() => {
        waiting.delete(conn);
        conn.close();
      }, pendingTimeoutMs),
    );
  };
  const attach = (next: Mux | TunnelLink) => {
    if (closing) return;
    if (!("bridgeConn" in next) || !next.bridgeConn) {
      throw new TypeError("this guest port carries only links with bridgeConn");
    }
    current = next as ConnLink;
    for (const [conn, timer] of waiting) {
      clearTimeout(timer);
      waiting.delete(conn);
      if (!bridge(conn)) wait(conn);
    }
  };

  (async () => {
    for await (const conn of listener.accept()) {
      if (closing) conn.close();
      else if (!bridge(conn)) wait(conn);
    }
  })();

  // A link that will never come: close the waiting connections rather than let them hang.
  const giveUp = () => {
    for (const [conn, timer] of waiting) {
      clearTimeout(timer);
      conn.close();
    }
    waiting.clear();
  };
  if (first instanceof Promise) first.then(attach).catch(giveUp);
  else if (first) attach(first);

  const close = async () => {
    if (closing) return;
    closing = true;
    listener.close();
    giveUp();
    for (const conn of open) conn.close();
    await Promise.all(bridges);
  };
  return {
    hostname: listener.hostname,
    port: listener.port,
    attach,
    close,
    [Symbol.asyncDispose]: close,
  };
}
