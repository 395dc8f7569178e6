/**
 * The host's side of the QUIC data plane (Deno): one endpoint for every QUIC
 * guest, opened on the first one. It answers a guest's offer with its own
 * certificate and addresses, dials the guest's addresses at once (the other
 * half of the simultaneous open), accepts the guest's connections, and once
 * a connection is proven and selected (lib/quic/control.ts) serves every
 * stream on it as one TCP connection to 127.0.0.1:<shared port>. In relay
 * mode the same streams arrive spliced through the relay, sealed.
 */
import type { PeerCheck } from "./liveness.ts";
import type { QuicConnLike, QuicStreamLike } from "../runtime/mod.ts";
import { hasQuic } from "../runtime/mod.ts";
import type { QuicListenerInfo, SignalData } from "../signal/mod.ts";
import type { ByteStream } from "../tunnel/web_streams.ts";
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
  selected,
} from "../quic/control.ts";
import { formatAddress } from "../quic/relay_wire.ts";
import type { PeerAuth } from "./auth.ts";
import { LinkCounters, serveSpliced, serveStream } from "./quic_link.ts";
import { ReplayWindow } from "../quic/replay_window.ts";

export interface HostQuicOptions {
  /** The shared port, dialled on 127.0.0.1 only. */
  targetPort: number;
  /** The relay's host, as the host reached it. */
  relayHost: string;
  /** The relay's QUIC listener (`welcome`), or null when it has none. */
  relay: QuicListenerInfo | null;
  log?: (line: string) => void;
}

/** Connections at once that have not proved themselves yet; more are closed at once. */
const MAX_UNPROVEN = 64;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** What the host's path event says about a QUIC guest. */
export interface QuicPathInfo {
  path: "direct" | "relay";
  /** The guest's address on the direct connection ("ip:port"), else null. */
  remote: string | null;
  rttMs: number | null;
}

export class HostQuic {
  readonly #o: HostQuicOptions;
  #endpoint: Promise<PeerEndpoint> | null = null;
  /** Every endpoint opened (an older one still carries its guests), closed at the end. */
  readonly #endpoints = new Set<Promise<PeerEndpoint>>();
  readonly #guests = new Map<number, HostQuicGuest>();
  readonly #byToken = new Map<string, HostQuicGuest>();
  #unproven = 0;

  constructor(options: HostQuicOptions) {
    this.#o = options;
  }

  /** Why QUIC guests cannot be served here, or null when they can. */
  unavailable(): string | null {
    if (!hasQuic()) return "the host runs without QUIC (it needs Deno with --unstable-net)";
    if (!this.#o.relay) return "the relay has no QUIC listener";
    return null;
  }

  /**
   * Open the endpoint now, in the background, rather than when the first
   * QUIC guest's offer arrives: making its certificate and reaching the
   * relay's listener take ~100-300 ms the first time, which that guest would
   * otherwise wait for. A failure here is retried by the first guest.
   */
  warm(): void {
    if (this.unavailable()) return;
    this.#start().catch(() => {});
  }

  /**
   * A guest's QUIC offer: start serving it. The guest's `answer` goes back
   * over signalling; its `authed` settles with the PAKE confirmation.
   */
  async guest(
    peer: number,
    offer: Extract<SignalData, { kind: "quic" }>,
    auth: PeerAuth,
    token: Uint8Array | null,
  ): Promise<HostQuicGuest> {
    const endpoint = await this.#start();
    const g = new HostQuicGuest(peer, auth, endpoint, this.#o.targetPort, token);
    this.#guests.set(peer, g);
    if (token) this.#byToken.set(hex(token), g);
    g.closedPromise.then(() => {
      if (this.#guests.get(peer) === g) this.#guests.delete(peer);
      if (token && this.#byToken.get(hex(token)) === g) this.#byToken.delete(hex(token));
    });
    try {
      await g.start(offer);
    } catch (err) {
      g.close("bad offer");
      throw err;
    }
    return g;
  }

  close(): void {
    for (const g of [...this.#guests.values()]) g.close("host stopped");
    for (const e of this.#endpoints) e.then((endpoint) => endpoint.close(), () => {});
    this.#endpoints.clear();
    this.#endpoint = null;
  }

  #start(): Promise<PeerEndpoint> {
    const why = this.unavailable();
    if (why) return Promise.reject(new Error(why));
    if (!this.#endpoint) {
      const opening = PeerEndpoint.open({ relayHost: this.#o.relayHost, relay: this.#o.relay! });
      this.#endpoint = opening;
      this.#endpoints.add(opening);
      opening.then((endpoint) => {
        endpoint.relay.onspliced = (token, stream) => this.#spliced(token, stream);
        this.#acceptIncoming(endpoint);
        // Without its relay connection this endpoint can no longer learn its
        // address or get spliced streams: the next guest gets a new one.
        endpoint.relay.closed.then(() => {
          if (this.#endpoint === opening) this.#endpoint = null;
          this.#o.log?.("QUIC connection to the relay lost");
        });
      }, () => {
        this.#endpoints.delete(opening);
        if (this.#endpoint === opening) this.#endpoint = null;
      });
    }
    return this.#endpoint;
  }

  #spliced(token: Uint8Array, stream: ByteStream) {
    const g = this.#byToken.get(hex(token));
    if (!g) {
      stream.readable.cancel("unknown guest").catch(() => {});
      stream.writable.abort("unknown guest").catch(() => {});
      return;
    }
    g.spliced(stream);
  }

  #acceptIncoming(endpoint: PeerEndpoint) {
    (async () => {
      for await (const conn of endpoint.incoming) {
        if (this.#unproven >= MAX_UNPROVEN) {
          conn.close({ closeCode: 1, reason: "busy" });
          continue;
        }
        this.#unproven++;
        this.#incoming(conn).catch((err) => {
          this.#o.log?.(`QUIC connection from ${conn.remote.address} refused: ${err.message}`);
          conn.close({ closeCode: 1, reason: "not proven" });
        }).finally(() => this.#unproven--);
      }
    })().catch(() => {});
  }

  /** A guest dialled us: its proof names it on the first stream. */
  async #incoming(conn: QuicConnLike) {
    const streams = conn.incomingBidirectionalStreams.getReader();
    const first = await streams.read();
    if (!first.value) throw new Error("no control stream");
    const { control, proof } = await readProof(first.value);
    const claim = proofClaim(proof);
    const g = claim?.role === "guest" ? this.#guests.get(claim.peer) : undefined;
    if (!claim || !g) throw new Error("a proof for no guest of ours");
    await g.incoming(conn, streams, control, proof);
  }
}

/** One QUIC guest of the host. */
export class HostQuicGuest extends LinkCounters {
  /** Our answer to the guest's offer, to send back over signalling. */
  answer!: SignalData;
  /** Settles once the guest's PAKE confirmation verified over both certificates. */
  authed!: Promise<void>;
  /** The guest connected: directly (it selected a connection) or through the relay. */
  onpath: ((info: QuicPathInfo) => void) | null = null;
  /** Once, when the guest's link ends. */
  onclose: ((reason: string) => void) | null = null;
  readonly closedPromise: Promise<void>;
  path: QuicPathInfo | null = null;
  readonly #peer: number;
  readonly #auth: PeerAuth;
  readonly #endpoint: PeerEndpoint;
  readonly #targetPort: number;
  readonly #token: Uint8Array | null;
  readonly #conns = new Set<QuicConnLike>();
  /** The connection the guest selected. */
  #chosen: QuicConnLike | null = null;
  #pinger: Pinger | null = null;
  /** Relay-mode stream numbers taken (sealed.ts): a replayed stream is refused. */
  readonly #window = new ReplayWindow();
  #detach: (() => void) | null = null;
  #closed = false;
  #resolveClosed: () => void = () => {};

  constructor(
    peer: number,
    auth: PeerAuth,
    endpoint: PeerEndpoint,
    targetPort: number,
    token: Uint8Array | null,
  ) {
    super();
    this.#peer = peer;
    this.#auth = auth;
    this.#endpoint = endpoint;
    this.#targetPort = targetPort;
    this.#token = token;
    this.closedPromise = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Bind both certificates, attach at the relay, and dial the guest. */
  async start(offer: Extract<SignalData, { kind: "quic" }>): Promise<void> {
    const remote = await certFingerprint(offer.cert);
    this.authed = this.#auth.bindFingerprints(0, {
      local: this.#endpoint.fingerprint,
      remote,
    });
    this.answer = {
      kind: "quic",
      cert: this.#endpoint.certDer,
      addrs: this.#endpoint.candidates(),
    };
    // Ready for relay mode before the guest may need it: the relay holds the
    // guest's first spliced streams until we are attached, but not for long.
    if (this.#token) {
      this.#endpoint.relay.attach(this.#token).then((attached) => {
        if (this.#closed) return attached.close();
        this.#detach = attached.close;
        // The relay lets go of the pair when the guest leaves the session.
        attached.ended.then(() => {
          if (this.path?.path === "relay") this.close("guest disconnected");
        });
      }, () => {/* relay mode will not work; the direct path still may */});
    }
    for (const addr of offer.addrs) {
      this.#endpoint.dial(addr, offer.cert).then(
        (conn) => this.#dialled(conn),
        () => {/* no path to that address */},
      );
    }
  }

  /** The guest switched to relay mode (its `relay-mode` message). */
  relayMode(): void {
    if (this.#closed || this.path?.path === "direct") return;
    this.#setPath({ path: "relay", remote: null, rttMs: null });
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach?.();
    for (const conn of this.#conns) conn.close({ closeCode: 0, reason: reason.slice(0, 100) });
    this.#resolveClosed();
    this.onclose?.(reason);
  }

  /** A stream the relay spliced from this guest. */
  spliced(stream: ByteStream): void {
    if (this.#closed) {
      stream.readable.cancel("closed").catch(() => {});
      stream.writable.abort("closed").catch(() => {});
      return;
    }
    this.relayMode(); // the guest may have moved before its message arrived
    this.authed
      .then(() =>
        serveSpliced(
          stream,
          this.#auth.deriveKey(QUIC_SEAL_LABEL, 32),
          this.#window,
          this.#targetPort,
          this,
        )
      )
      .catch(() => {
        stream.readable.cancel("refused").catch(() => {});
        stream.writable.abort("refused").catch(() => {});
      });
  }

  /** A connection the guest dialled, with its proof read. */
  async incoming(
    conn: QuicConnLike,
    streams: ReadableStreamDefaultReader<QuicStreamLike>,
    control: Control,
    proof: Uint8Array,
  ): Promise<void> {
    if (this.#closed) throw new Error("guest is gone");
    await this.authed;
    if (!checkProof(this.#proofKey(), proof, this.#peer, "guest")) throw new Error("bad proof");
    await accept(control);
    this.#proven(conn, streams, control);
  }

  #proofKey(): Uint8Array {
    return this.#auth.deriveKey(QUIC_PROOF_LABEL, 32);
  }

  /** A connection we dialled: prove ourselves as the host. */
  async #dialled(conn: QuicConnLike) {
    if (this.#closed) return conn.close({ closeCode: 0, reason: "guest is gone" });
    try {
      await this.authed;
      const { control } = await prove(
        conn,
        clientProof(this.#proofKey(), this.#peer, "host"),
      );
      this.#proven(conn, conn.incomingBidirectionalStreams.getReader(), control);
    } catch {
      conn.close({ closeCode: 1, reason: "not proven" });
    }
  }

  /**
   * A proven connection: serve the guest's streams on it, and announce the
   * direct path (with a measured round trip) when the guest selects it.
   */
  #proven(
    conn: QuicConnLike,
    streams: ReadableStreamDefaultReader<QuicStreamLike>,
    control: Control,
  ) {
    if (this.#closed) return conn.close({ closeCode: 0, reason: "guest is gone" });
    this.#conns.add(conn);
    conn.closed.then(() => {
      this.#conns.delete(conn);
      if (this.path?.path === "direct" && this.#chosen === conn) this.close("guest disconnected");
    });
    (async () => {
      for (;;) {
        const { value, done } = await streams.read();
        if (done) return;
        if (this.#closed) refuseStream(value);
        else serveStream(value, this.#targetPort, this);
      }
    })().catch(() => {});
    selected(control).then(async () => {
      if (this.#closed) return;
      this.#chosen = conn;
      this.#pinger = new Pinger(control);
      const rttMs = await this.#pinger.rtt();
      const { address, port } = conn.remote;
      this.#setPath({ path: "direct", remote: formatAddress(address, port), rttMs });
    }, () => {/* not the chosen one: the guest closes it */});
  }

  /**
   * Whether the guest is still there, on the direct connection: the control
   * stream's ping, and bytes received (null until a connection is selected).
   */
  get check(): PeerCheck | null {
    const pinger = this.#pinger;
    return pinger ? { ping: () => pinger.ping(), heard: () => this.bytesReceived } : null;
  }

  #setPath(info: QuicPathInfo) {
    if (this.path?.path === info.path) return;
    this.path = info;
    this.onpath?.(info);
  }
}
