/**
 * The host's side of one QUIC guest (the QUIC data plane, quic_host.ts): its
 * offer is its first message; the host answers, dials it while it dials us,
 * and follows it into relay mode (streams spliced by the relay) when it asks.
 */
import type { SignalData } from "../signal/mod.ts";
import type { HostQuic, HostQuicGuest } from "./quic_host.ts";
import type { GuestState, HostContext } from "./host_guest.ts";

/** Answer a QUIC guest's offer and start the simultaneous open. */
export async function startQuicGuest(
  ctx: HostContext,
  quic: HostQuic,
  g: GuestState,
  offer: Extract<SignalData, { kind: "quic" }>,
): Promise<void> {
  const why = quic.unavailable();
  if (why) {
    ctx.dropGuest(g, why);
    return ctx.reject(g.peer, g.from, `${why}; join with --transport webrtc`);
  }
  let qg: HostQuicGuest;
  try {
    qg = await quic.guest(g.peer, offer, g.auth, g.quicToken);
  } catch (err) {
    if (!ctx.dropGuest(g, "QUIC failed")) return;
    return ctx.reject(g.peer, g.from, `QUIC failed at the host: ${(err as Error).message}`);
  }
  if (g.closed) return qg.close("guest left");
  g.quic = qg;
  ctx.send(g, 0, qg.answer);
  qg.authed.then(() => {
    if (!g.closed) ctx.authed(g);
  }, (err: Error) => {
    if (!g.closed) ctx.failAuth(g, err.message);
  });
  qg.onpath = (info) => {
    if (g.closed) return;
    clearTimeout(g.timer);
    g.since = new Date().toISOString();
    if (info.path === "direct") g.reason = "connected";
    g.rttMs = info.rttMs === null ? null : Math.round(info.rttMs * 10) / 10;
    ctx.announce(g);
  };
  qg.onclose = (reason) => ctx.endGuest(g, reason);
  // Relay mode may have begun while the endpoint opened.
  if (qg.path) qg.onpath(qg.path);
  else if (g.epoch > 0) qg.relayMode();
}

/** The QUIC guest asked for relay mode. */
export function quicRelayMode(ctx: HostContext, g: GuestState, epoch: number, reason: string) {
  if (epoch <= g.epoch) return;
  g.epoch = epoch;
  g.reason = reason;
  // A spliced stream may have come first: then say why now. (Before the
  // guest's QUIC state exists, startQuicGuest looks at the epoch.)
  if (g.quic?.path?.path === "relay") ctx.announce(g);
  else g.quic?.relayMode();
}
