/**
 * What the host keeps per guest, and what the code for each data plane
 * (host_rtc.ts, host_browser.ts, host_quic_guest.ts) may ask of the host.
 */
import type { SignalClient, SignalData } from "../signal/mod.ts";
import type { PathInfo, RtcPeer } from "../rtc/mod.ts";
import type { Mux } from "../tunnel/mod.ts";
import type { Output } from "../cli/output.ts";
import type { PeerAuth } from "./auth.ts";
import type { WebTransportLink } from "./host_webtransport.ts";
import type { HostQuicGuest } from "./quic_host.ts";

export interface HostOptions {
  /** The local TCP port to share (dialled on 127.0.0.1 only). */
  port: number;
  /** Relay base URL; undefined embeds a relay in this process (LAN mode). */
  relayUrl?: string;
  /** How long a guest's direct attempt may take before relay mode. Default 8 s. */
  p2pTimeoutMs: number;
  /** The command name printed in the join line. Default "tun". */
  command?: string;
  /** Guests connected (or connecting) at once; more are refused. Default: no limit. */
  maxGuests?: number;
  /** Accept one guest only; exit once it leaves. */
  once?: boolean;
  /** The audit log file (one JSON line per accepted or rejected guest). */
  auditLog: string;
  /** The relay's access secret, if it requires tokens. */
  token?: string;
  /**
   * "webrtc" (default): WebRTC guests and QUIC guests alike; "quic": QUIC
   * guests only (WebRTC is not loaded). Without a loadable @roamhq/wrtc the
   * host serves QUIC guests only either way.
   */
  transport?: "webrtc" | "quic";
  out: Output;
}

export interface GuestState {
  peer: number;
  from: string;
  epoch: number;
  /** The WebRTC attempt's peer connection (WebRTC guests only, once they spoke). */
  rtc?: RtcPeer;
  /** Which data plane the guest uses, known from its first signalling message. */
  transport?: "webrtc" | "quic";
  /** A QUIC guest's state (quic_host.ts). */
  quic?: HostQuicGuest;
  /** The host's side of the guest's pair at the relay's QUIC listener, if any. */
  quicToken: Uint8Array | null;
  auth: PeerAuth;
  /** The guest proved it knows the join code (for the current attempt). */
  authed: boolean;
  /** Resolves when `authed` first becomes true. */
  keyed: Promise<void>;
  setKeyed: () => void;
  mux?: Mux;
  /** A browser guest's WebTransport session, when that is its path. */
  wt?: WebTransportLink;
  /** A browser guest (it said so first); it may want WebTransport. */
  browser: boolean;
  path?: PathInfo;
  /** Why the current path: "connected" (direct) or why relay mode was chosen. */
  reason: string;
  rttMs: number | null;
  since: string;
  timer?: ReturnType<typeof setTimeout>;
  closed: boolean;
}

/** "webtransport", or "direct"/"relay" from the selected candidate pair, else from the attempt. */
export function pathName(g: GuestState): string {
  if (g.wt) return "webtransport";
  if (g.quic?.path) return g.quic.path.path;
  return g.path?.path ?? (g.epoch > 0 ? "relay" : "direct");
}

/** What carries a connected guest's bytes: its mux, WebTransport session or QUIC link. */
export function linkOf(g: GuestState): { bytesSent: number; bytesReceived: number } | undefined {
  return g.mux ?? g.wt ?? (g.quic?.path ? g.quic : undefined);
}

/** The host's side of every guest, as the data-plane code needs it. */
export interface HostContext {
  readonly options: HostOptions;
  readonly out: Output;
  readonly signal: SignalClient;
  readonly guests: Map<number, GuestState>;
  /** Offer loopback ICE candidates (only when the relay is on loopback: lib/rtc/candidate.ts). */
  readonly loopbackCandidates: boolean;
  /** Signalling to guest `g` in an epoch. */
  send(g: GuestState, epoch: number, data: SignalData): void;
  /** The guest is gone (logged, counted, announced); idempotent. */
  endGuest(g: GuestState, reason: string): void;
  /** Stop the guest's timer and connections quietly; false if it was already gone. */
  dropGuest(g: GuestState, reason: string): boolean;
  /** The guest's proof failed: wrong code, or a tampering relay. */
  failAuth(g: GuestState, why: string): void;
  /** Refuse a guest with a reason. */
  reject(peer: number, from: string, reason: string): void;
  /** The guest proved it knows the join code. */
  authed(g: GuestState): void;
  /** Tell the user (and `tun p2p status`) which path a guest connected on. */
  announce(g: GuestState): void;
}
