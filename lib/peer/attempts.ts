/**
 * A guest's connection attempts, shared by `tun p2p-join` (guest.ts) and the
 * browser guest's page (lib/web/guest/connect.ts): a direct attempt first
 * (epoch 0, STUN only); relay mode (epoch 1, TURN only) after the p2p timeout,
 * on ICE failure, or at once when both peers' NATs rule hole punching out.
 * Each attempt's DTLS fingerprints are bound to the join code's PAKE before
 * its DataChannel counts as open.
 */
import type { IceServer, NatInfo, SignalData } from "../signal/mod.ts";
import { type DataChannelAdapter, RtcPeer } from "../rtc/mod.ts";
import type { PeerAuth } from "./auth.ts";
import { RELAY_MODE_TIMEOUT_MS } from "./ice.ts";
import { NatPair } from "./nat_verdict.ts";

export type AttemptMode = "direct" | "relay";

export interface GuestAttemptsOptions {
  auth: PeerAuth;
  stun: IceServer[];
  turn: IceServer[];
  p2pTimeoutMs: number;
  /** Offer loopback ICE candidates (PeerOptions.loopbackCandidates). Default true. */
  loopbackCandidates?: boolean;
  /** Send signalling to the host in an epoch. */
  send(epoch: number, data: SignalData): void;
  /** An attempt's DataChannel opened and the host proved the join code over it. */
  onopen(peer: RtcPeer, channel: DataChannelAdapter, mode: AttemptMode, reason: string): void;
  /** Nothing more to try (or the proof failed); the message is for the user. */
  onfatal(message: string): void;
  /** Relay mode starts, and why (for a status line). */
  onrelay?(reason: string): void;
  /** Some attempt's proof verified: the PAKE key may be used. */
  onauthed?(): void;
}

export class GuestAttempts {
  /** 0 for the direct attempt, 1 once in relay mode. */
  epoch = 0;
  /** The current attempt's peer connection. */
  rtc: RtcPeer | undefined;
  readonly #o: GuestAttemptsOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Connected (on any path): no more switching. */
  #settled = false;
  readonly #nats = new NatPair((reason) => this.toRelay(reason));

  constructor(options: GuestAttemptsOptions) {
    this.#o = options;
  }

  /** Begin with the direct attempt. */
  start(): void {
    this.#attempt("direct", "connected");
  }

  /** Give up the direct attempt for relay mode (no-op once settled or in relay mode). */
  toRelay(reason: string): void {
    if (this.#settled || this.epoch > 0) return;
    if (!this.#o.turn.length) {
      return this.#o.onfatal(`${reason}, and the relay offers no TURN server for relay mode`);
    }
    this.epoch = 1;
    this.#o.onrelay?.(reason);
    this.#attempt("relay", reason);
  }

  /** Our NAT's behaviour or the host's: with both known, a hopeless direct attempt ends. */
  nat(which: "own" | "host", info: NatInfo): void {
    this.#nats.set(which, info);
  }

  /** SDP and ICE from the host; messages of an attempt given up are dropped. */
  handleSignal(epoch: number, data: SignalData): void {
    if (epoch !== this.epoch || !this.rtc) return;
    this.rtc.handleSignal(data).catch((err) => this.#o.onfatal(`bad signalling: ${err.message}`));
  }

  /** The guest is connected (maybe by other means): stop timers and switching. */
  settle(): void {
    this.#settled = true;
    clearTimeout(this.#timer);
  }

  /** Stop everything, closing the current peer connection. */
  close(): void {
    this.settle();
    this.rtc?.close();
  }

  #attempt(mode: AttemptMode, reason: string): void {
    const o = this.#o;
    this.rtc?.close();
    const epoch = this.epoch;
    const peer = new RtcPeer({
      role: "offerer",
      iceServers: mode === "direct" ? o.stun : o.turn,
      iceTransportPolicy: mode === "relay" ? "relay" : "all",
      sendSignal: (data) => o.send(epoch, data),
      loopbackCandidates: o.loopbackCandidates,
    });
    this.rtc = peer;
    if (mode === "relay") o.send(epoch, { kind: "relay-mode", reason });
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () =>
        mode === "direct"
          ? this.toRelay(`no direct path within ${o.p2pTimeoutMs / 1000} s`)
          : o.onfatal(`could not connect through the relay either (${reason})`),
      mode === "direct" ? o.p2pTimeoutMs : RELAY_MODE_TIMEOUT_MS,
    );
    const current = () => this.rtc === peer && !this.#settled;
    peer.onfailed = (why) => {
      if (this.rtc !== peer) return;
      const what = why.replace(/^connection /, "");
      if (mode === "direct" && !this.#settled) this.toRelay(`ICE ${what}`);
      else o.onfatal(`peer connection ${what}`);
    };
    peer.start().catch((err) => o.onfatal(`cannot create offer: ${err.message}`));
    // The host must prove it knows the join code, over both DTLS fingerprints,
    // before a single tunnel byte flows.
    const authed = peer.descriptions.then((d) => o.auth.bind(epoch, d));
    authed.then(() => o.onauthed?.(), () => {
      if (this.rtc === peer) {
        o.onfatal(
          "authentication failed: wrong join code, or the relay tampered with the connection",
        );
      }
    });
    Promise.all([peer.opened, authed]).then(([channel]) => {
      if (!current()) return;
      clearTimeout(this.#timer);
      o.onopen(peer, channel, mode, mode === "direct" ? "connected" : reason);
    }, () => {/* reported via onfailed, the proof's failure or the timer */});
  }
}
