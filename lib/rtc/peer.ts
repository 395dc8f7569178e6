/**
 * One WebRTC peer connection carrying one DataChannel (@roamhq/wrtc), with
 * trickle ICE through the relay's signalling. The DataChannel is negotiated
 * out of band (both sides create id 0), so there is no DCEP round trip.
 */
import { isLoopbackCandidate } from "./candidate.ts";
import type { SignalData } from "../signal/mod.ts";
import { DataChannelAdapter } from "./channel.ts";

export interface PeerOptions {
  /** "offerer" (the guest) creates the offer; "answerer" (the host) answers. */
  role: "offerer" | "answerer";
  /** ICE servers, e.g. `[{ urls: "stun:relay.example:3478" }]`. */
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
  /** "relay" gathers and uses only TURN relay candidates (relay mode). Default "all". */
  iceTransportPolicy?: "all" | "relay";
  /** Send one piece of signalling to the other peer (through the relay). */
  sendSignal: (data: SignalData) => void;
  /**
   * Once connected, ask the kernel for at least this much receive buffer on
   * this process's UDP sockets (capped by net.core.rmem_max unless root); 0
   * leaves them as libwebrtc made them. Without it, a receiver that is off the
   * CPU for 2-4 ms overflows the 208 KiB default at ~50 MB/s and every lost
   * datagram stalls the SCTP association. Native only. Default 4 MiB.
   */
  udpReceiveBuffer?: number;
  /**
   * Offer candidates on loopback addresses (candidate.ts says why not): worth
   * it only when the other peer may be on this machine with no other network
   * in common, i.e. when the relay itself is reached over loopback. Default true.
   */
  loopbackCandidates?: boolean;
}

const DEFAULT_UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

/** Which network path the selected ICE candidate pair uses. */
export interface PathInfo {
  path: "direct" | "relay";
  /** ICE candidate types of the selected pair: host, srflx, prflx or relay. */
  local: string;
  remote: string;
  /** "ip:port", or null when libwebrtc does not say (peer-reflexive candidates). */
  localAddress: string | null;
  remoteAddress: string | null;
  /** Current STUN round-trip time on the selected pair, if known. */
  rttMs: number | null;
}

// Minimal local types for the parts of wrtc we use.
interface RTCPeerConnectionLike {
  connectionState: string;
  iceConnectionState: string;
  onicecandidate: ((ev: { candidate: CandidateLike | null }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  createDataChannel(label: string, init: Record<string, unknown>): RawDataChannel;
  createOffer(): Promise<{ type: string; sdp: string }>;
  createAnswer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  addIceCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void>;
  getStats(): Promise<Map<string, Record<string, unknown>>>;
  close(): void;
}
interface CandidateLike {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}
export interface RawDataChannel {
  readyState: string;
  bufferedAmount: number;
  binaryType: string;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: ArrayBuffer | string }) => void) | null;
  send(data: Uint8Array): void;
  close(): void;
}

type PeerConnectionClass = new (c: unknown) => RTCPeerConnectionLike;

/**
 * @roamhq/wrtc is loaded here (through native.ts), once, and may fail (its
 * native part missing or not loadable on this system): then RtcPeer throws and
 * callers fall back to the QUIC data plane. A static import would stop the
 * whole program instead.
 */
type Native = typeof import("./native.ts");
const loaded: { PC: PeerConnectionClass; native: Native } | { error: string } = await import(
  "./native.ts"
).then(
  (native) => {
    const PC = native.RTCPeerConnection as PeerConnectionClass | undefined;
    return typeof PC === "function" ? { PC, native } : { error: "it has no RTCPeerConnection" };
  },
  // The first line, shortened: it travels in refusals (lib/signal caps reasons).
  (err: Error) => ({ error: err.message.split("\n")[0].slice(0, 100) }),
);

/** Why WebRTC cannot be used here (its native module did not load), or null when it can. */
export function webrtcUnavailable(): string | null {
  return "error" in loaded ? `WebRTC (@roamhq/wrtc) did not load: ${loaded.error}` : null;
}

/** "ip:port" of a candidate from getStats, or null (peer-reflexive ones may have no IP). */
function addressOf(c: Record<string, unknown>): string | null {
  const ip = c.address || c.ip;
  if (!ip || !c.port) return null;
  return String(ip).includes(":") ? `[${ip}]:${c.port}` : `${ip}:${c.port}`;
}

export class RtcPeer {
  /** Called when ICE or DTLS fails or the connection drops for good. */
  onfailed: ((reason: string) => void) | null = null;
  readonly #pc: RTCPeerConnectionLike;
  readonly #dc: RawDataChannel;
  readonly #options: PeerOptions;
  #remoteSet = false;
  #pending: SignalData[] = [];
  #closed = false;
  readonly opened: Promise<DataChannelAdapter>;
  /**
   * Both session descriptions, once applied: the peers bind the DTLS
   * fingerprints in them to the join code's PAKE (lib/peer/auth.ts).
   */
  readonly descriptions: Promise<{ local: string; remote: string }>;
  #sdps: { local?: string; remote?: string } = {};
  #sdpsDone: (d: { local: string; remote: string }) => void = () => {};

  constructor(options: PeerOptions) {
    if ("error" in loaded) throw new Error(webrtcUnavailable()!);
    this.#options = options;
    this.#pc = new loaded.PC({
      iceServers: options.iceServers,
      iceTransportPolicy: options.iceTransportPolicy ?? "all",
    });
    this.#dc = this.#pc.createDataChannel("tun", { negotiated: true, id: 0, ordered: true });
    this.#dc.binaryType = "arraybuffer";
    const native = loaded.native;
    this.opened = new Promise((resolve, reject) => {
      this.#dc.onopen = () => {
        resolve(new DataChannelAdapter(this.#dc, native.directChannel));
        native.connectionOpened(options.udpReceiveBuffer ?? DEFAULT_UDP_RECEIVE_BUFFER);
      };
      this.#failOpen = reject;
    });
    this.opened.catch(() => {});
    this.descriptions = new Promise((resolve) => this.#sdpsDone = resolve);
    this.#pc.onicecandidate = (ev) => {
      if (this.#closed) return;
      if (ev.candidate && ev.candidate.candidate) {
        if (options.loopbackCandidates === false && isLoopbackCandidate(ev.candidate.candidate)) {
          return;
        }
        options.sendSignal({
          kind: "candidate",
          candidate: ev.candidate.candidate,
          mid: ev.candidate.sdpMid,
          mline: ev.candidate.sdpMLineIndex,
        });
      } else if (!ev.candidate) {
        options.sendSignal({ kind: "end-of-candidates" });
      }
    };
    this.#pc.onconnectionstatechange = () => {
      const s = this.#pc.connectionState;
      if (s === "failed" || s === "closed") this.#fail(`connection ${s}`);
    };
  }

  #failOpen: (err: Error) => void = () => {};

  #fail(reason: string) {
    if (this.#closed) return;
    this.#failOpen(new Error(reason));
    this.onfailed?.(reason);
  }

  /** Offerer: create and send the offer. */
  async start(): Promise<void> {
    if (this.#options.role !== "offerer") return;
    const offer = await this.#pc.createOffer();
    await this.#pc.setLocalDescription(offer);
    this.#sdpReady("local", offer.sdp);
    this.#options.sendSignal({ kind: "offer", sdp: offer.sdp });
  }

  /**
   * Feed one piece of signalling from the other peer. Once the peer is closed
   * (an attempt given up while its offer was in flight), errors are moot.
   */
  async handleSignal(data: SignalData): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#handleSignal(data);
    } catch (err) {
      if (!this.#closed) throw err;
    }
  }

  async #handleSignal(data: SignalData): Promise<void> {
    if (data.kind === "offer") {
      if (this.#options.role !== "answerer") throw new Error("offerer received an offer");
      await this.#pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
      this.#sdpReady("remote", data.sdp);
      const answer = await this.#pc.createAnswer();
      await this.#pc.setLocalDescription(answer);
      this.#sdpReady("local", answer.sdp);
      this.#options.sendSignal({ kind: "answer", sdp: answer.sdp });
      await this.#remoteReady();
    } else if (data.kind === "answer") {
      if (this.#options.role !== "offerer") throw new Error("answerer received an answer");
      await this.#pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
      this.#sdpReady("remote", data.sdp);
      await this.#remoteReady();
    } else if (data.kind === "candidate") {
      if (!this.#remoteSet) {
        this.#pending.push(data);
        return;
      }
      await this.#pc.addIceCandidate({
        candidate: data.candidate,
        sdpMid: data.mid ?? undefined,
        sdpMLineIndex: data.mline ?? undefined,
      }).catch(() => {/* a candidate we cannot use is not fatal */});
    }
  }

  #sdpReady(which: "local" | "remote", sdp: string) {
    this.#sdps[which] = sdp;
    const { local, remote } = this.#sdps;
    if (local !== undefined && remote !== undefined) this.#sdpsDone({ local, remote });
  }

  async #remoteReady() {
    this.#remoteSet = true;
    for (const c of this.#pending.splice(0)) await this.#handleSignal(c);
  }

  /** The path the selected candidate pair takes, from getStats(). */
  async path(): Promise<PathInfo | null> {
    const stats = await this.#pc.getStats();
    let pairId: unknown;
    for (const s of stats.values()) {
      if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    }
    let pair: Record<string, unknown> | undefined;
    for (const s of stats.values()) {
      if (s.type !== "candidate-pair") continue;
      if (pairId ? s.id === pairId : s.nominated && s.state === "succeeded") pair = s;
    }
    if (!pair) return null;
    const byId = (id: unknown) => [...stats.values()].find((s) => s.id === id) ?? {};
    const l = byId(pair.localCandidateId);
    const r = byId(pair.remoteCandidateId);
    const local = String(l.candidateType ?? "unknown");
    const remote = String(r.candidateType ?? "unknown");
    const rtt = typeof pair.currentRoundTripTime === "number" && pair.currentRoundTripTime > 0
      ? pair.currentRoundTripTime * 1000
      : null;
    return {
      path: local === "relay" || remote === "relay" ? "relay" : "direct",
      local,
      remote,
      localAddress: addressOf(l),
      remoteAddress: addressOf(r),
      rttMs: rtt,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failOpen(new Error("closed"));
    try {
      this.#dc.close();
    } catch { /* ignore */ }
    try {
      this.#pc.close();
    } catch { /* ignore */ }
  }
}
