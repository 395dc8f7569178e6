/**
 * The relay's QUIC listener (lib/quic/relay_wire.ts speaks its protocol):
 *
 * - It tells a peer's QUIC endpoint the address it observes (OBSERVE), so a
 *   peer learns its public QUIC address from the very UDP port it will dial
 *   the other peer from.
 * - In relay mode it splices streams between the two peers of a pair: a
 *   peer's OPEN stream is joined byte for byte to a new stream on the other
 *   peer's ATTACHed connection. Pairs are made by the session table (one per
 *   guest), and their tokens reach each side only over its own signalling
 *   connection, so a spliced stream always ends at the peer the opener was
 *   introduced to. The bytes are sealed end to end by the peers
 *   (lib/quic/sealed.ts): the relay sees ciphertext.
 *
 * Limits: QUIC connections count against the per-address connection limit
 * of the WebSockets (relay/limits.ts); spliced streams are capped per pair and
 * in all; a stream that names no request within REQUEST_TIMEOUT_MS is reset.
 * Each direction of a splice buffers at most one chunk in the relay (pipeTo
 * reads only when the other side can take it), beyond what QUIC flow control
 * lets either peer have in flight.
 */
import type { QuicConnLike, QuicStreamLike } from "../lib/runtime/mod.ts";
import { openQuicEndpoint } from "../lib/runtime/mod.ts";
import { selfSignedCert } from "../lib/cert/mod.ts";
import {
  ATTACH,
  encodeObserved,
  encodeRequest,
  encodeStatus,
  OBSERVE,
  OPEN,
  readRequest,
  RELAY_ALPN,
  RELAY_SERVER_NAME,
  SPLICED,
  TOKEN_LENGTH,
} from "../lib/quic/relay_wire.ts";
import { PrefixReader, withTimeout } from "../lib/quic/stream_reader.ts";
import type { RelayLimits } from "./limits.ts";

export interface RelayQuicOptions {
  /** Address to bind. */
  hostname: string;
  /** UDP port; 0 picks a free one. */
  port: number;
  limits: RelayLimits;
  log?: (line: string) => void;
  /** Spliced streams one pair (a host and one guest) may hold at once. Default 512. */
  maxStreamsPerPair?: number;
  /** Spliced streams the relay holds at once, all pairs together. Default 16384. */
  maxStreams?: number;
}

export interface RelayQuic {
  readonly port: number;
  /** The listener's self-signed certificate (DER), which peers pin; told in `welcome`. */
  readonly certDer: Uint8Array;
  /** Mint a pair's two tokens. */
  issuePair(): { id: string; host: Uint8Array; guest: Uint8Array };
  /** The pair is over (its guest or host left): end its attachments and splices. */
  revokePair(id: string): void;
  /** Spliced streams open now. */
  readonly streams: number;
  close(): void;
}

/** A peer must say what a stream is for within this. */
const REQUEST_TIMEOUT_MS = 10_000;
/** An OPEN waits this long for the other peer to attach. */
const ATTACH_WAIT_MS = 10_000;
/** Validity of the listener's certificate; a new one is made at every start. */
const CERT_DAYS = 397;

type SideName = "host" | "guest";

interface Side {
  token: Uint8Array;
  attached: { conn: QuicConnLike; end(): void } | null;
  waiters: Set<() => void>;
}

interface Pair {
  id: string;
  sides: Record<SideName, Side>;
  splices: Set<AbortController>;
  revoked: boolean;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const other = (s: SideName): SideName => s === "host" ? "guest" : "host";

export async function startRelayQuic(options: RelayQuicOptions): Promise<RelayQuic> {
  const log = options.log ?? (() => {});
  const perPair = options.maxStreamsPerPair ?? 512;
  const maxStreams = options.maxStreams ?? 16_384;
  const cert = await selfSignedCert({
    commonName: "tun relay",
    dnsNames: [RELAY_SERVER_NAME],
    validDays: CERT_DAYS,
  });
  const endpoint = await openQuicEndpoint({
    hostname: options.hostname,
    port: options.port,
    server: { certPem: cert.certPem, keyPem: cert.keyPem, alpn: [RELAY_ALPN] },
    // Peers keep their connections alive (and their NAT mappings with them).
    keepAliveMs: 0,
    maxIdleMs: 30_000,
  });
  const pairs = new Map<string, Pair>();
  const tokens = new Map<string, { pair: Pair; side: SideName }>();
  let streams = 0;
  let nextPair = 1;
  const conns = new Set<QuicConnLike>();

  const refuse = async (stream: QuicStreamLike, reason: string) => {
    const writer = stream.writable.getWriter();
    await writer.write(encodeStatus(reason)).catch(() => {});
    await writer.close().catch(() => {});
  };

  const attach = async (
    conn: QuicConnLike,
    stream: QuicStreamLike,
    r: PrefixReader,
    token: Uint8Array,
  ) => {
    const entry = tokens.get(hex(token));
    if (!entry) return refuse(stream, "unknown or expired token");
    const side = entry.pair.sides[entry.side];
    side.attached?.end();
    const writer = stream.writable.getWriter();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (side.attached?.conn === conn) side.attached = null;
      writer.close().catch(() => {});
      r.cancel("detached");
    };
    side.attached = { conn, end };
    await writer.write(encodeStatus()).catch(end);
    for (const wake of side.waiters) wake();
    // Attached until the peer ends the stream, its connection goes, or the pair does.
    r.byte().then(end, end);
    conn.closed.then(end);
  };

  const open = async (stream: QuicStreamLike, r: PrefixReader, token: Uint8Array) => {
    const entry = tokens.get(hex(token));
    if (!entry) return refuse(stream, "unknown or expired token");
    const { pair } = entry;
    if (pair.splices.size >= perPair) {
      return refuse(stream, `too many streams in this session (at most ${perPair} at once)`);
    }
    if (streams >= maxStreams) return refuse(stream, "relay is busy: too many streams");
    const target = pair.sides[other(entry.side)];
    const abort = new AbortController();
    pair.splices.add(abort);
    streams++;
    try {
      if (!target.attached) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(wake, ATTACH_WAIT_MS);
          function wake() {
            clearTimeout(timer);
            target.waiters.delete(wake);
            resolve();
          }
          target.waiters.add(wake);
          abort.signal.addEventListener("abort", wake);
        });
      }
      if (pair.revoked) return await refuse(stream, "the session has ended");
      if (!target.attached) return await refuse(stream, "the other peer is not attached");
      let out: QuicStreamLike;
      try {
        out = await target.attached.conn.createBidirectionalStream();
      } catch {
        return await refuse(stream, "cannot open a stream to the other peer");
      }
      const header = out.writable.getWriter();
      const status = stream.writable.getWriter();
      await Promise.all([
        header.write(encodeRequest({ type: SPLICED, token: target.token })),
        status.write(encodeStatus()),
      ]);
      header.releaseLock();
      status.releaseLock();
      const options = { signal: abort.signal };
      await Promise.allSettled([
        r.rest().pipeTo(out.writable, options),
        out.readable.pipeTo(stream.writable, options),
      ]);
    } catch {
      abort.abort();
    } finally {
      pair.splices.delete(abort);
      streams--;
    }
  };

  const serveStream = async (conn: QuicConnLike, stream: QuicStreamLike) => {
    const r = new PrefixReader(stream.readable);
    let req;
    try {
      req = await withTimeout(readRequest(r), REQUEST_TIMEOUT_MS, "request");
    } catch (err) {
      r.cancel("bad request");
      return refuse(stream, (err as Error).message);
    }
    if (req.type === OBSERVE) {
      const writer = stream.writable.getWriter();
      const { address, port } = conn.remote;
      await writer.write(encodeObserved(address, port)).catch(() => {});
      await writer.close().catch(() => {});
      return;
    }
    if (req.type === ATTACH) return attach(conn, stream, r, req.token);
    if (req.type === OPEN) return open(stream, r, req.token);
    r.cancel("bad request");
    return refuse(stream, "peers do not send SPLICED");
  };

  const revokePair = (id: string) => {
    const pair = pairs.get(id);
    if (!pair) return;
    pair.revoked = true;
    pairs.delete(id);
    for (const name of ["host", "guest"] as const) {
      const side = pair.sides[name];
      tokens.delete(hex(side.token));
      side.attached?.end();
      for (const wake of side.waiters) wake();
    }
    for (const splice of pair.splices) splice.abort();
  };

  (async () => {
    for await (const conn of endpoint.incoming) {
      const ip = conn.remote.address;
      const held = options.limits.holdConnection(ip);
      if (!held.ok) {
        log(`refusing QUIC from ${ip}: ${held.reason}`);
        conn.close({ closeCode: 1, reason: held.reason.slice(0, 100) });
        continue;
      }
      conns.add(conn);
      conn.closed.then(() => {
        conns.delete(conn);
        options.limits.releaseConnection(ip);
      });
      (async () => {
        for await (const stream of conn.incomingBidirectionalStreams) {
          serveStream(conn, stream).catch(() => {});
        }
      })().catch(() => {});
    }
  })().catch(() => {});

  return {
    port: endpoint.port,
    certDer: cert.der,
    get streams() {
      return streams;
    },
    issuePair() {
      const id = `p${nextPair++}`;
      const side = (): Side => ({
        token: crypto.getRandomValues(new Uint8Array(TOKEN_LENGTH)),
        attached: null,
        waiters: new Set(),
      });
      const pair: Pair = {
        id,
        sides: { host: side(), guest: side() },
        splices: new Set(),
        revoked: false,
      };
      pairs.set(id, pair);
      tokens.set(hex(pair.sides.host.token), { pair, side: "host" });
      tokens.set(hex(pair.sides.guest.token), { pair, side: "guest" });
      return { id, host: pair.sides.host.token, guest: pair.sides.guest.token };
    },
    revokePair,
    close() {
      for (const id of [...pairs.keys()]) revokePair(id);
      for (const conn of conns) conn.close({ closeCode: 0, reason: "relay is shutting down" });
      endpoint.close();
    },
  };
}
