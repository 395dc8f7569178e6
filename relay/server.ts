/**
 * The relay: hono HTTP + WebSocket signalling, and a STUN Binding server on UDP.
 * It introduces peers; it never carries tunnel bytes (until relay mode, which
 * forwards ciphertext through TURN).
 */
import { Hono } from "hono";
import { isIP } from "node:net";
import { type HttpServer, remoteAddress, serveHttp, upgradeWebSocket } from "../lib/runtime/mod.ts";
import { answerBinding, type BehaviourServer, startBehaviourServer } from "../lib/stun/mod.ts";
import { mintTurnCredentials, startTurnServer } from "../lib/turn/mod.ts";
import { randomBytes } from "node:crypto";
import { lanAddress } from "../lib/peer/relay_url.ts";
import { parseTurnUrl } from "./turn_url.ts";
import { webRoutes } from "./web.ts";
import {
  type Addr,
  decodeMessage,
  encodeMessage,
  type IceServer,
  MAX_MESSAGE_BYTES,
  type Message,
} from "../lib/signal/mod.ts";
import { type Conn, SessionTable } from "./sessions.ts";
import { RelayLimits, type RelayLimitsOptions } from "./limits.ts";
import { type RelayQuic, startRelayQuic } from "./quic.ts";
import { hasQuic } from "../lib/runtime/mod.ts";
import { checkTokenSecret, TOKEN_PARAM, type TokenCheck, verifyToken } from "../lib/auth/mod.ts";

export const RELAY_VERSION = "0.1.0";

export interface RelayOptions {
  /** Address for HTTP/WebSocket and STUN. Default "0.0.0.0". */
  hostname?: string;
  /** HTTP/WebSocket port. Default 7700; 0 picks a free port. */
  port?: number;
  /**
   * Port of the built-in TURN server (UDP and TCP), which also answers STUN
   * Binding requests. With `turnUrl` set, only a STUN server listens here (UDP).
   * Default 3478; 0 picks a free port.
   */
  stunPort?: number;
  /**
   * Shared secret for TURN REST API credentials (RFC 8489 long-term credentials
   * with an expiring username). Default: random per start. Required with `turnUrl`.
   */
  turnSecret?: string;
  /**
   * An external TURN server (coturn with `use-auth-secret`), as `turn:HOST:PORT`.
   * The relay then hands out credentials for it instead of running its own.
   */
  turnUrl?: string;
  /**
   * IP the built-in TURN server advertises in XOR-RELAYED-ADDRESS and binds relay
   * sockets to. Default: `hostname` if it is a specific IP, else `publicHost` if
   * that is an IP, else this machine's first non-loopback IPv4 address.
   */
  turnRelayIp?: string;
  /** TURN credentials handed to session members last this long. Default 24 h. */
  turnCredentialTtlS?: number;
  /** A code no guest has used expires after this long. Default 24 h. */
  codeTtlMs?: number;
  /** Guests at once in one session. Default 64. */
  maxGuestsPerSession?: number;
  /**
   * Host name or IP that peers use to reach this relay's UDP/TCP ports (STUN,
   * TURN). Default: the host the peer itself used, from its request's Host header.
   */
  publicHost?: string;
  /**
   * A second local IP for RFC 5780 behaviour discovery (OTHER-ADDRESS,
   * CHANGE-REQUEST). Needs `hostname` to be a specific IP. Without it the relay
   * still answers from a second port, and the probe says what it could not test.
   */
  stunAltHost?: string;
  /**
   * Secret for relay access tokens (lib/auth): when set, every WebSocket
   * must carry a valid token in its URL, `/v1/signal?token=<token>`, minted
   * with this secret; anything else is refused before the relay keeps any
   * state for it (an `error` message with the reason, then close 1008). At
   * least 16 bytes. Default: none, anyone may connect. TURN credentials are
   * unaffected: only session members get them either way.
   */
  token?: string;
  /**
   * Let the built-in TURN server relay to loopback, private, link-local and
   * other non-global peers (lib/turn peer_policy.ts), for single-LAN setups
   * and labs. Default false: only public peers, and the TURN server's own
   * relayed addresses (so two peers in relay mode reach each other).
   */
  allowPrivatePeers?: boolean;
  /**
   * TURN allocations at once per peer (its credentials' id) on the built-in
   * server, beyond which it answers 486. A host gets this many per guest
   * in its session (relay mode makes one peer connection per guest).
   * Default 10.
   */
  maxTurnAllocationsPerPeer?: number;
  /** Rates and counts per client address and connection; see relay/limits.ts for defaults. */
  limits?: RelayLimitsOptions;
  /**
   * UDP port of the QUIC listener (relay/quic.ts): it tells peers' QUIC
   * endpoints their observed address and, in relay mode, splices their
   * end-to-end sealed streams. 0 picks a free port; null runs none. Default 0
   * (the `tun relay` command's default is 7700). Only where the runtime has
   * QUIC (Deno with --unstable-net); elsewhere there is none.
   */
  quicPort?: number | null;
  /**
   * An HTTPS listener as well, for browser guests (Service Workers and
   * WebTransport need a secure context): its port (0 picks a free one) and
   * certificate. It serves the same things as the HTTP listener.
   */
  https?: { port: number; certPem: string; keyPem: string };
  /**
   * The https origin browsers reach this relay at, when a TLS proxy in front of
   * it terminates https (e.g. "https://relay.example"). Default: the HTTPS
   * listener as the peer reached the relay (its Host header's name).
   */
  publicUrl?: string;
  /** Called for relay log lines (connections refused, etc.). Default: none. */
  log?: (line: string) => void;
}

export interface Relay {
  /** Port of the HTTP/WebSocket listener. */
  readonly port: number;
  /** Port of the HTTPS listener, or null without one. */
  readonly httpsPort: number | null;
  /** Port of the UDP STUN listener (the built-in TURN server's port when it runs). */
  readonly stunPort: number;
  /** TCP port of the built-in TURN server, or null when TURN is external. */
  readonly turnTcpPort: number | null;
  /** UDP port of the QUIC listener, or null without one. */
  readonly quicPort: number | null;
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
  const tokenSecret = options.token;
  if (tokenSecret !== undefined) checkTokenSecret(tokenSecret);
  const perPeer = options.maxTurnAllocationsPerPeer ?? 10;
  if (!Number.isInteger(perPeer) || perPeer < 1) {
    throw new RangeError(`maxTurnAllocationsPerPeer must be a positive integer, got ${perPeer}`);
  }
  const limits = new RelayLimits(options.limits);
  const quicPort = options.quicPort === undefined ? 0 : options.quicPort;
  const quic: RelayQuic | null = quicPort !== null && hasQuic()
    ? await startRelayQuic({ hostname, port: quicPort, limits, log })
    : null;
  const sessions = new SessionTable({
    codeTtlMs: options.codeTtlMs,
    maxGuestsPerSession: options.maxGuestsPerSession,
    limits,
    quicPairs: quic ?? undefined,
  });
  /** Open connections by id: TURN credentials name them (`c<id>`). */
  const conns = new Map<number, Conn>();
  const software = `tun relay ${RELAY_VERSION}`;
  const turnSecret = options.turnSecret ?? randomBytes(24).toString("base64url");
  const credentialTtl = options.turnCredentialTtlS ?? 24 * 3600;
  const external = options.turnUrl ? parseTurnUrl(options.turnUrl) : null;
  if (external && !options.turnSecret) {
    throw new Error("an external TURN server needs the secret it shares with the relay");
  }
  const isIpLiteral = (h: string | undefined) => !!h && isIP(h) !== 0;
  const turnRelayIp = options.turnRelayIp ??
    (hostname !== "0.0.0.0" && hostname !== "::" ? hostname : undefined) ??
    (isIpLiteral(options.publicHost) ? options.publicHost : undefined) ??
    lanAddress();
  // Built in: one TURN server answers STUN Binding and TURN on UDP and TCP.
  // External TURN: a plain STUN server here, credentials for the external one.
  // The behaviour-discovery server (RFC 5780) needs the TURN port first; until
  // it exists, Binding requests on the TURN port get a plain answer.
  const late: { behaviour?: BehaviourServer } = {};
  const turn = external ? null : await startTurnServer({
    hostname,
    port: options.stunPort ?? 3478,
    realm: "tun",
    secret: turnSecret,
    relayAddress: turnRelayIp,
    // Debian's turnutils_uclient (coturn 4.6) picks channels up to 0x7FFF.
    legacyChannelNumbers: true,
    allowPrivatePeers: options.allowPrivatePeers ?? false,
    maxAllocationsPerUser: (id) => {
      const conn = /^c\d+$/.test(id) ? conns.get(Number(id.slice(1))) : undefined;
      const guests = conn ? sessions.guestsOf(conn) : undefined;
      return perPeer * Math.max(1, guests ?? 1);
    },
    software,
    // answerPrimary sends its own answer (maybe from another socket) and returns
    // nothing: do not fall through to answerBinding when it exists.
    bindingResponder: (datagram, source) =>
      late.behaviour
        ? late.behaviour.answerPrimary(datagram, source)
        : answerBinding(datagram, source, { software }),
  }).catch((err) => {
    quic?.close();
    throw err;
  });
  // STUN for peers and `tun debug nat-type`: the TURN port (or its own socket
  // with external TURN), a second port, and with --stun-alt-host a second address.
  let behaviour: BehaviourServer;
  try {
    behaviour = late.behaviour = await startBehaviourServer({
      primaryHost: hostname,
      altHost: options.stunAltHost,
      port: turn ? turn.udpPort : (options.stunPort ?? 3478),
      altPort: 0,
      software,
      primarySocket: turn?.udp,
    });
  } catch (err) {
    await turn?.close();
    quic?.close();
    throw err;
  }
  const stun = {
    port: behaviour.port,
    close: async () => {
      await behaviour.close();
      await turn?.close();
    },
  };
  const iceFor = (reachedAs: string, id: string): IceServer[] => {
    const stunEntry = { urls: [`stun:${reachedAs}:${stun.port}`] };
    const cred = mintTurnCredentials(turnSecret, id, credentialTtl);
    if (external) {
      return [stunEntry, {
        urls: [
          `turn:${external.host}:${external.port}?transport=udp`,
          `turn:${external.host}:${external.port}?transport=tcp`,
        ],
        username: cred.username,
        credential: cred.password,
      }];
    }
    return [stunEntry, {
      urls: [
        `turn:${reachedAs}:${turn!.udpPort}?transport=udp`,
        `turn:${reachedAs}:${turn!.tcpPort}?transport=tcp`,
      ],
      username: cred.username,
      credential: cred.password,
    }];
  };
  let nextConn = 1;
  const live = new Set<{ ws: WsLike }>();

  const app = new Hono();
  app.get("/", (c) => c.text(`tun relay ${RELAY_VERSION}\n`));
  app.get("/healthz", (c) => c.json({ ok: true, sessions: sessions.size }));
  webRoutes(app, log);
  let httpsPort: number | null = null;
  const publicUrl = options.publicUrl?.replace(/\/+$/, "");
  /** The https origin for browser guests, as a peer that reached us as `reachedAs` sees it. */
  const webFor = (reachedAs: string): string | null =>
    publicUrl ?? (httpsPort === null ? null : `https://${reachedAs}:${httpsPort}`);
  app.get(
    "/v1/signal",
    upgradeWebSocket((c) => {
      const addr = normaliseAddr(remoteAddress(c));
      const reachedAs = options.publicHost ?? hostOf(c.req.header("host")) ?? "127.0.0.1";
      // Checked now, acted on at open: a refusal needs the socket to say why.
      const access: TokenCheck | undefined = tokenSecret === undefined
        ? undefined
        : verifyToken(tokenSecret, c.req.query(TOKEN_PARAM));
      const meter = limits.messageMeter();
      let holdsConnection = false;
      let connId = 0;
      const ice = (): IceServer[] => iceFor(reachedAs, `c${connId}`);
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
        if (conn) {
          conns.delete(conn.id);
          sessions.left(conn);
        }
        if (holdsConnection) {
          holdsConnection = false;
          limits.releaseConnection(addr.address);
        }
      };
      /** Refuse a connection before any state exists for it: the reason, then close. */
      const refuse = (reason: string) => {
        log(`refusing ${addr.address}:${addr.port}: ${reason}`);
        try {
          holder.ws.send(encodeMessage({ t: "error", message: reason }));
        } catch { /* gone already */ }
        hardClose(CLOSE_POLICY, reason);
      };
      return {
        onOpen(_evt, ws) {
          holder.ws = ws as unknown as WsLike;
          live.add(holder);
          const held = limits.holdConnection(addr.address);
          if (!held.ok) return refuse(held.reason);
          holdsConnection = true;
          if (access && !access.ok) {
            return refuse(
              `${access.message} (peers need --token or TUN_TOKEN with the relay's secret)`,
            );
          }
          conn = {
            id: connId = nextConn++,
            addr,
            ice,
            web: webFor(reachedAs),
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
          conns.set(conn.id, conn);
          conn.send({
            t: "welcome",
            addr,
            stun_port: stun.port,
            stun_alt_port: behaviour.altPort,
            ...(quic ? { quic: { port: quic.port, cert: quic.certDer } } : {}),
          });
        },
        onMessage(evt, _ws) {
          if (!conn || closed) return;
          // Before decoding anything: a flood costs the flooder its connection.
          if (!meter.take()) return conn.close(meter.reason);
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
  let secure: HttpServer | undefined;
  try {
    server = await serveHttp(app, { hostname, port: options.port ?? 7700 });
    if (options.https) {
      const { port, certPem, keyPem } = options.https;
      secure = await serveHttp(app, { hostname, port, tls: { certPem, keyPem } });
      httpsPort = secure.port;
    }
  } catch (err) {
    await server?.close();
    await stun.close();
    quic?.close();
    throw err;
  }
  return {
    port: server.port,
    httpsPort,
    stunPort: stun.port,
    turnTcpPort: turn ? turn.tcpPort : null,
    quicPort: quic ? quic.port : null,
    hostname,
    sessions,
    async close() {
      sessions.closeAll("relay is shutting down");
      for (const h of live) {
        try {
          h.ws.close(1001, "relay is shutting down");
        } catch { /* ignore */ }
      }
      quic?.close();
      await Promise.all([server.close(), secure?.close(), stun.close()]);
    },
  };
}
