/**
 * The relay: hono HTTP + WebSocket signalling, and a STUN Binding server on UDP.
 * It introduces peers; it never carries tunnel bytes (until relay mode, which
 * forwards ciphertext through TURN).
 */
import { Hono } from "hono";
import { remoteAddress, serveHttp, upgradeWebSocket } from "../lib/runtime/mod.ts";
import { startStunServer, type StunServer } from "../lib/stun/mod.ts";
import {
  type Addr,
  decodeMessage,
  encodeMessage,
  type IceServer,
  MAX_MESSAGE_BYTES,
  type Message,
} from "../lib/signal/mod.ts";
import { type Conn, SessionTable } from "./sessions.ts";

export const RELAY_VERSION = "0.1.0";

export interface RelayOptions {
  /** Address for HTTP/WebSocket and STUN. Default "0.0.0.0". */
  hostname?: string;
  /** HTTP/WebSocket port. Default 7700; 0 picks a free port. */
  port?: number;
  /** UDP STUN port. Default 3478; 0 picks a free port. */
  stunPort?: number;
  /** A code no guest has used expires after this long. Default 24 h. */
  codeTtlMs?: number;
  /** Guests at once in one session. Default 64. */
  maxGuestsPerSession?: number;
  /**
   * Host name or IP that peers use to reach this relay's UDP/TCP ports (STUN,
   * TURN). Default: the host the peer itself used, from its request's Host header.
   */
  publicHost?: string;
  /** Called for relay log lines (connections refused, etc.). Default: none. */
  log?: (line: string) => void;
}

export interface Relay {
  /** Port of the HTTP/WebSocket listener. */
  readonly port: number;
  /** Port of the UDP STUN listener. */
  readonly stunPort: number;
  readonly hostname: string;
  /** Live sessions (hosts with a code). */
  readonly sessions: SessionTable;
  close(): Promise<void>;
}

// WebSocket close codes (RFC 6455 §7.4.1).
const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;

/** The smallest raw socket shape we need from hono's WSContext. */
interface WsLike {
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

function toBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  return null;
}

/** "relay.example:7700" → "relay.example"; "[::1]:7700" → "[::1]" (as ICE URLs want it). */
function hostOf(header: string | undefined): string | null {
  if (!header) return null;
  try {
    return new URL(`http://${header}`).hostname || null;
  } catch {
    return null;
  }
}

function normaliseAddr(a: Addr): Addr {
  // IPv4-mapped IPv6 (::ffff:1.2.3.4) reads better as plain IPv4.
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a.address);
  return { address: m ? m[1] : a.address, port: a.port };
}

export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const hostname = options.hostname ?? "0.0.0.0";
  const log = options.log ?? (() => {});
  const sessions = new SessionTable({
    codeTtlMs: options.codeTtlMs,
    maxGuestsPerSession: options.maxGuestsPerSession,
  });
  const stun: StunServer = await startStunServer({
    hostname,
    port: options.stunPort ?? 3478,
    software: `tun relay ${RELAY_VERSION}`,
  });
  let nextConn = 1;
  const live = new Set<{ ws: WsLike }>();

  const app = new Hono();
  app.get("/", (c) => c.text(`tun relay ${RELAY_VERSION}\n`));
  app.get("/healthz", (c) => c.json({ ok: true, sessions: sessions.size }));
  app.get(
    "/v1/signal",
    upgradeWebSocket((c) => {
      const addr = normaliseAddr(remoteAddress(c));
      const reachedAs = options.publicHost ?? hostOf(c.req.header("host")) ?? "127.0.0.1";
      const ice = (): IceServer[] => [{ urls: [`stun:${reachedAs}:${stun.port}`] }];
      let conn: Conn | undefined;
      let closed = false;
      const holder: { ws: WsLike } = { ws: { send() {}, close() {} } };
      const hardClose = (code: number, reason: string) => {
        if (closed) return;
        closed = true;
        try {
          holder.ws.close(code, reason.slice(0, 120));
        } catch { /* already closing */ }
        finish();
      };
      const finish = () => {
        live.delete(holder);
        if (conn) sessions.left(conn);
      };
      return {
        onOpen(_evt, ws) {
          holder.ws = ws as unknown as WsLike;
          live.add(holder);
          conn = {
            id: nextConn++,
            addr,
            ice,
            role: { kind: "none" },
            send(msg: Message) {
              if (closed) return;
              try {
                holder.ws.send(encodeMessage(msg));
              } catch { /* peer gone; onClose tidies up */ }
            },
            close(reason: string) {
              if (closed) return;
              log(`closing ${addr.address}:${addr.port}: ${reason}`);
              this.send({ t: "error", message: reason });
              hardClose(CLOSE_POLICY, reason);
            },
          };
          conn.send({ t: "welcome", addr, stun_port: stun.port });
        },
        onMessage(evt, _ws) {
          if (!conn || closed) return;
          const bytes = toBytes(evt.data);
          if (!bytes) return conn.close("text frames are not part of the protocol");
          if (bytes.byteLength > MAX_MESSAGE_BYTES) {
            conn.send({ t: "error", message: `message larger than ${MAX_MESSAGE_BYTES} bytes` });
            return hardClose(CLOSE_TOO_BIG, "message too big");
          }
          let msg: Message;
          try {
            msg = decodeMessage(bytes);
          } catch (err) {
            return conn.close(`bad message: ${(err as Error).message}`);
          }
          try {
            sessions.handle(conn, msg);
          } catch (err) {
            // A bug must cost only this connection, never the relay.
            conn.close(`internal error: ${(err as Error).message}`);
          }
        },
        onClose() {
          closed = true;
          finish();
        },
        onError() {
          closed = true;
          finish();
        },
      };
    }),
  );

  let server;
  try {
    server = await serveHttp(app, { hostname, port: options.port ?? 7700 });
  } catch (err) {
    await stun.close();
    throw err;
  }
  return {
    port: server.port,
    stunPort: stun.port,
    hostname,
    sessions,
    async close() {
      sessions.closeAll("relay is shutting down");
      for (const h of live) {
        try {
          h.ws.close(1001, "relay is shutting down");
        } catch { /* ignore */ }
      }
      await Promise.all([server.close(), stun.close()]);
    },
  };
}
