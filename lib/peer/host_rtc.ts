/**
 * The host's WebRTC side of one guest: a peer connection per attempt (epoch 0
 * direct, then relay mode through TURN when the guest asks), whose DataChannel
 * carries the tunnel only after the guest's PAKE proof over both DTLS
 * fingerprints has verified.
 */
import type { IceServer, SignalData } from "../signal/mod.ts";
import { RtcPeer } from "../rtc/mod.ts";
import { Mux, serveHostStreams } from "../tunnel/mod.ts";
import { RELAY_MODE_TIMEOUT_MS } from "./ice.ts";
import type { GuestState, HostContext } from "./host_guest.ts";

export interface RtcServers {
  stun: IceServer[];
  turn: IceServer[];
}

/** Answer guest `g`'s current attempt with a new peer connection. */
export function answerRtc(ctx: HostContext, servers: RtcServers, g: GuestState): RtcPeer {
  const relayMode = g.epoch > 0;
  const epoch = g.epoch;
  const rtc = new RtcPeer({
    role: "answerer",
    iceServers: relayMode ? servers.turn : servers.stun,
    iceTransportPolicy: relayMode ? "relay" : "all",
    sendSignal: (data: SignalData) => ctx.send(g, epoch, data),
    loopbackCandidates: ctx.loopbackCandidates,
  });
  clearTimeout(g.timer);
  // The guest decides when to switch to relay mode; the host only gives up
  // once both attempts have had their time.
  g.timer = setTimeout(
    () => ctx.endGuest(g, relayMode ? "relay mode did not connect" : "guest never connected"),
    relayMode ? RELAY_MODE_TIMEOUT_MS + 5_000 : ctx.options.p2pTimeoutMs + RELAY_MODE_TIMEOUT_MS,
  );
  rtc.onfailed = (why) => {
    if (g.rtc !== rtc) return;
    // A failed direct attempt is the guest's cue for relay mode: wait for it.
    // (A browser guest that chose WebTransport has no use for it either.)
    if ((relayMode || g.mux) && !g.wt) ctx.endGuest(g, why);
  };
  rtc.descriptions.catch(() => {});
  // No tunnel byte flows before the guest proves it knows the code and both
  // DTLS fingerprints are bound to that proof.
  const authed = rtc.descriptions.then((d) => g.auth.bind(epoch, d));
  authed.then(() => {
    if (g.rtc === rtc && !g.closed) ctx.authed(g);
  }, (err: Error) => {
    // Even for an attempt given up: a confirmation that does not verify
    // means a wrong code or a tampering relay, whichever attempt it was.
    if (!g.closed) ctx.failAuth(g, err.message);
  });
  Promise.all([rtc.opened, authed]).then(([channel]) => {
    // (Not once a browser guest has moved to WebTransport: this peer
    // connection is closed, and its mux would end the guest.)
    if (g.closed || g.rtc !== rtc || g.wt) return;
    clearTimeout(g.timer);
    connected(ctx, g, rtc, new Mux(channel));
  }, () => {/* failure is reported through onfailed, failAuth or the timer */});
  return rtc;
}

/** The guest asked for relay mode: a relay-only attempt replaces the direct one. */
export function toRelayMode(
  ctx: HostContext,
  servers: RtcServers,
  g: GuestState,
  epoch: number,
  reason: string,
): void {
  if (epoch <= g.epoch || g.mux || !servers.turn.length || !g.rtc) return;
  g.rtc.close();
  g.epoch = epoch;
  g.reason = reason;
  g.rtc = answerRtc(ctx, servers, g);
}

async function connected(ctx: HostContext, g: GuestState, rtc: RtcPeer, mux: Mux) {
  g.mux = mux;
  g.since = new Date().toISOString();
  serveHostStreams(mux, { targetHost: "127.0.0.1", targetPort: ctx.options.port });
  mux.onclose = () => ctx.endGuest(g, "guest disconnected");
  g.path = (await rtc.path().catch(() => null)) ?? undefined;
  const rtt = g.path?.rttMs ?? await mux.ping().catch(() => null);
  g.rttMs = rtt === null ? null : Math.round(rtt * 10) / 10;
  ctx.announce(g);
}
