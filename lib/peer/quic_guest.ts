/**
 * The guest's side of the QUIC data plane (Deno): its endpoint learns its
 * public address from the relay's QUIC listener, the offer carries that and
 * a fresh certificate to the host, and once the host answers both peers dial
 * each other from their endpoints at once. The first connection whose other
 * end proves the join code (lib/quic/proof.ts) is selected; the others are
 * closed. Relay mode splices sealed streams through the relay instead.
 */
import type { QuicConnLike, QuicStreamLike } from "../runtime/mod.ts";
import type { QuicListenerInfo, SignalData } from "../signal/mod.ts";
import type { TunnelLink } from "../tunnel/mod.ts";
import { PeerEndpoint } from "../quic/peer_endpoint.ts";
import {
  certFingerprint,
  checkProof,
  clientProof,
  proofClaim,
  QUIC_PROOF_LABEL,
  QUIC_SEAL_LABEL,
} from "../quic/proof.ts";
import {
  accept,
  type Control,
  Pinger,
  prove,
  readProof,
  refuseStream,
  select,
} from "../quic/control.ts";
import { formatAddress } from "../quic/relay_wire.ts";
import type { PeerAuth } from "./auth.ts";
import type { PeerCheck } from "./liveness.ts";
import { directLink, LinkCounters, relayLink } from "./quic_link.ts";

export interface GuestQuicOptions {
  /** The relay's host, as the guest reached it. */
  relayHost: string;
  /** The relay's QUIC listener (`welcome`). */
  relay: QuicListenerInfo;
  /** This guest's id in the session (`joined`). */
  peer: number;
  /** This guest's side of its relay pair (`joined`); null: no relay mode. */
  token: Uint8Array | null;
  auth: PeerAuth;
}

/** A direct QUIC connection to the host, chosen and acknowledged. */
export interface QuicDirect {
  link: TunnelLink;
  /** The host's address on it. */
  remote: string;
  /** Round trip on the connection, ms (least of a few pings), or null. */
  rttMs: number | null;
  /** Settles when the connection ends. */
  closed: Promise<unknown>;
  /** Whether the host is still there: the control stream's ping, and bytes received. */
  check: PeerCheck;
}

export class GuestQuic {
  /** Bytes over whichever link carries them. */
  readonly counters = new LinkCounters();
  /** Resolves once a direct connection is proven and selected; never rejects. */
  readonly direct: Promise<QuicDirect>;
  readonly #o: GuestQuicOptions;
  readonly #endpoint: PeerEndpoint;
  readonly #conns = new Set<QuicConnLike>();
  #authed: Promise<void> | null = null;
  #chosen: QuicConnLike | null = null;
  /** Relay mode took over: direct connections are closed as they come. */
  #givenUp = false;
  #resolveDirect: (d: QuicDirect) => void = () => {};
  #closed = false;

  private constructor(o: GuestQuicOptions, endpoint: PeerEndpoint) {
    this.#o = o;
    this.#endpoint = endpoint;
    this.direct = new Promise((resolve) => this.#resolveDirect = resolve);
    this.#acceptIncoming();
  }

  /** Open the endpoint and learn its public address from the relay. */
  static async open(o: GuestQuicOptions): Promise<GuestQuic> {
    return new GuestQuic(o, await PeerEndpoint.open({ relayHost: o.relayHost, relay: o.relay }));
  }

  /** The first signalling message: our certificate and where we may be reached. */
  offer(): SignalData {
    return { kind: "quic", cert: this.#endpoint.certDer, addrs: this.#endpoint.candidates() };
  }

  /** This endpoint's address as the relay saw it. */
  get observed(): string {
    return formatAddress(this.#endpoint.observed.address, this.#endpoint.observed.port);
  }

  /**
   * The host's answer: bind both certificates to the PAKE and dial every
   * address it gave. Resolves once the host's confirmation verified; rejects
   * (AuthError) when it does not.
   */
  async answer(data: Extract<SignalData, { kind: "quic" }>): Promise<void> {
    if (this.#authed) return this.#authed;
    const remote = await certFingerprint(data.cert);
    this.#authed = this.#o.auth.bindFingerprints(0, {
      local: this.#endpoint.fingerprint,
      remote,
    });
    for (const addr of data.addrs) {
      this.#endpoint.dial(addr, data.cert).then(
        (conn) => this.#dialled(conn),
        () => {/* no path to that address */},
      );
    }
    return this.#authed;
  }

  /**
   * Relay mode: TCP connections go through the relay's splice, sealed end to
   * end. The direct attempt ends: no connection is selected after this.
   */
  relayLink(): TunnelLink | null {
    if (!this.#o.token) return null;
    this.#givenUp = true;
    for (const conn of this.#conns) conn.close({ closeCode: 0, reason: "relay mode" });
    return relayLink(this.#endpoint.relay, this.#o.token, async () => {
      await this.#authed;
      return this.#o.auth.deriveKey(QUIC_SEAL_LABEL, 32);
    }, this.counters);
  }

  /** Settles when the relay's QUIC connection ends. */
  get relayClosed(): Promise<unknown> {
    return this.#endpoint.relay.closed;
  }

  close(): void {
    this.#closed = true;
    this.#endpoint.close();
  }

  #proofKey(): Uint8Array {
    return this.#o.auth.deriveKey(QUIC_PROOF_LABEL, 32);
  }

  /** A connection we dialled (the host listens): prove ourselves on it. */
  async #dialled(conn: QuicConnLike) {
    if (!this.#track(conn)) return;
    try {
      await this.#authed;
      const { control } = await prove(conn, clientProof(this.#proofKey(), this.#o.peer, "guest"));
      this.#refuseStreams(conn.incomingBidirectionalStreams.getReader());
      await this.#proven(conn, control);
    } catch {
      conn.close({ closeCode: 1, reason: "not proven" });
    }
  }

  /** Connections the host dialled: its proof comes on the first stream. */
  #acceptIncoming() {
    (async () => {
      for await (const conn of this.#endpoint.incoming) {
        if (!this.#track(conn)) continue;
        this.#incoming(conn).catch(() => conn.close({ closeCode: 1, reason: "not proven" }));
      }
    })().catch(() => {});
  }

  async #incoming(conn: QuicConnLike) {
    const streams = conn.incomingBidirectionalStreams.getReader();
    const first = await streams.read();
    if (!first.value) throw new Error("no control stream");
    const { control, proof } = await readProof(first.value);
    const claim = proofClaim(proof);
    if (!this.#authed) throw new Error("a connection before the host's answer");
    await this.#authed;
    if (
      !claim || claim.role !== "host" || claim.peer !== this.#o.peer ||
      !checkProof(this.#proofKey(), proof, claim.peer, "host")
    ) {
      throw new Error("bad proof");
    }
    await accept(control);
    this.#refuseStreams(streams);
    await this.#proven(conn, control);
  }

  /** Remember a connection (closed with the rest once one is chosen); false if one already is. */
  #track(conn: QuicConnLike): boolean {
    if (this.#closed || this.#chosen || this.#givenUp) {
      conn.close({ closeCode: 0, reason: "another connection was chosen" });
      return false;
    }
    this.#conns.add(conn);
    conn.closed.then(() => this.#conns.delete(conn));
    return true;
  }

  /** A proven connection: the first one is selected, the rest are closed. */
  async #proven(conn: QuicConnLike, control: Control) {
    if (this.#chosen || this.#givenUp) {
      conn.close({ closeCode: 0, reason: "another connection was chosen" });
      return;
    }
    this.#chosen = conn;
    for (const other of this.#conns) {
      if (other !== conn) other.close({ closeCode: 0, reason: "another connection was chosen" });
    }
    await select(control);
    const pinger = new Pinger(control);
    const rttMs = await pinger.rtt();
    const { address, port } = conn.remote;
    this.#resolveDirect({
      link: directLink(conn, this.counters),
      remote: formatAddress(address, port),
      rttMs,
      closed: conn.closed,
      check: { ping: () => pinger.ping(), heard: () => this.counters.bytesReceived },
    });
  }

  /** The host opens no streams towards a guest: reset any it tries. */
  #refuseStreams(streams: ReadableStreamDefaultReader<QuicStreamLike>) {
    (async () => {
      for (;;) {
        const { value, done } = await streams.read();
        if (done) return;
        refuseStream(value);
      }
    })().catch(() => {});
  }
}
