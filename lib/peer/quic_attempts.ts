/**
 * A guest's connection attempts over the QUIC data plane, the counterpart of
 * attempts.ts for WebRTC: the direct attempt (both peers dial each other,
 * quic_guest.ts) first; relay mode (streams spliced through the relay's QUIC
 * listener, sealed end to end) after --p2p-timeout, or at once when both
 * peers' NATs rule hole punching out.
 */
import type { NatInfo, QuicListenerInfo, SignalData } from "../signal/mod.ts";
import type { TunnelLink } from "../tunnel/mod.ts";
import type { PeerAuth } from "./auth.ts";
import type { PeerCheck } from "./liveness.ts";
import { NatPair } from "./nat_verdict.ts";
import { GuestQuic } from "./quic_guest.ts";
import { preparePeerEndpoint } from "../quic/peer_endpoint.ts";

/** What the guest reports once a QUIC attempt carries its connections. */
export interface QuicOpen {
  link: TunnelLink;
  path: "direct" | "relay";
  reason: string;
  rttMs: number | null;
  /** The host's address on a direct connection ("ip:port"). */
  remote: string | null;
  /** This guest's QUIC endpoint as the relay saw it. */
  local: string;
  /** Whether the host is still there, on a direct connection (null through the relay). */
  check: PeerCheck | null;
}

export interface QuicAttemptsOptions {
  relayHost: string;
  relay: QuicListenerInfo;
  /** This guest's id in the session and its side of the relay pair (`joined`). */
  peer: number;
  token: Uint8Array | null;
  auth: PeerAuth;
  p2pTimeoutMs: number;
  /** Send signalling to the host in an epoch (0 direct, 1 relay mode). */
  send(epoch: number, data: SignalData): void;
  /** A link carries the guest's connections now. */
  onopen(open: QuicOpen): void;
  /** Nothing more to try, or the link is gone; the message is for the user. */
  onfatal(message: string): void;
}

export class QuicAttempts {
  /** 0 for the direct attempt, 1 once in relay mode. */
  epoch = 0;
  readonly #o: QuicAttemptsOptions;
  readonly #quic: GuestQuic;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settled = false;
  readonly #nats = new NatPair((reason) => this.toRelay(reason));

  private constructor(o: QuicAttemptsOptions, quic: GuestQuic) {
    this.#o = o;
    this.#quic = quic;
  }

  /** Begin the slow part of {@link open} (the certificate) ahead of it. */
  static prepare(): void {
    preparePeerEndpoint();
  }

  /** Open the guest's endpoint (it learns its public address from the relay). */
  static async open(o: QuicAttemptsOptions): Promise<QuicAttempts> {
    const quic = await GuestQuic.open({
      relayHost: o.relayHost,
      relay: o.relay,
      peer: o.peer,
      token: o.token,
      auth: o.auth,
    });
    return new QuicAttempts(o, quic);
  }

  /** Send the offer (the guest's first message) and begin the direct attempt. */
  start(): void {
    const o = this.#o;
    o.send(0, this.#quic.offer());
    this.#timer = setTimeout(
      () => this.toRelay(`no direct path within ${o.p2pTimeoutMs / 1000} s`),
      o.p2pTimeoutMs,
    );
    this.#quic.direct.then((d) => {
      if (this.#settled) return;
      this.settle();
      d.closed.then(() => o.onfatal("the host closed the connection"));
      o.onopen({
        link: d.link,
        path: "direct",
        reason: "connected",
        rttMs: d.rttMs,
        remote: d.remote,
        local: this.#quic.observed,
        check: d.check,
      });
    });
  }

  /** Relay mode instead of the direct attempt (no-op once settled). */
  toRelay(reason: string): void {
    if (this.#settled || this.epoch > 0) return;
    const link = this.#quic.relayLink();
    if (!link) return this.#o.onfatal(`${reason}, and the relay offers no relay mode`);
    this.epoch = 1;
    this.settle();
    this.#o.send(1, { kind: "relay-mode", reason });
    this.#quic.relayClosed.then(() => this.#o.onfatal("lost the relay's QUIC connection"));
    this.#o.onopen({
      link,
      path: "relay",
      reason,
      rttMs: null,
      remote: null,
      local: this.#quic.observed,
      check: null,
    });
  }

  /** Our NAT's behaviour or the host's: with both known, a hopeless direct attempt ends. */
  nat(which: "own" | "host", info: NatInfo): void {
    this.#nats.set(which, info);
  }

  /** The host's answer (its `quic` message). */
  handleSignal(epoch: number, data: SignalData): void {
    if (epoch !== 0 || data.kind !== "quic") return;
    this.#quic.answer(data).catch(() =>
      this.#o.onfatal(
        "authentication failed: wrong join code, or the relay tampered with the connection",
      )
    );
  }

  /** Bytes through whichever link carries them. */
  get counters(): { bytesSent: number; bytesReceived: number } {
    return this.#quic.counters;
  }

  settle(): void {
    this.#settled = true;
    clearTimeout(this.#timer);
  }

  close(): void {
    this.settle();
    this.#quic.close();
  }
}
