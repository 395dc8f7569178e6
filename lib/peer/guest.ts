/**
 * `tun p2p-join <code>`: open a local port that reaches the host's shared port.
 *
 * The local port listens at once; connections made while the peers connect
 * wait and then go through. The direct attempt comes first (STUN only); if no
 * DataChannel opens within --p2p-timeout, or ICE fails sooner, the guest asks
 * the host for relay mode and both make a new, relay-only peer connection
 * through the relay's TURN server. That switch is quiet: one `path` line.
 *
 * With --transport quic (or when @roamhq/wrtc does not load) the QUIC data
 * plane does the same (quic_attempts.ts): direct QUIC between the peers'
 * endpoints, else streams spliced through the relay's QUIC listener.
 */
import { tokenParams } from "../auth/mod.ts";
import { hasQuic, runtimeName } from "../runtime/mod.ts";
import process from "node:process";
import { parseJoinCode } from "../code/mod.ts";
import {
  HOST_LEFT,
  type IceServer,
  type Message,
  type NatInfo,
  SignalClient,
} from "../signal/mod.ts";
import { offerLoopbackCandidates, type RtcPeer, webrtcUnavailable } from "../rtc/mod.ts";
import { Mux, serveGuestPort, type TunnelLink } from "../tunnel/mod.ts";
import { type ConnLink, serveGuestConns } from "../tunnel/guest_conns.ts";
import { discover, discoveryPort } from "../discovery/mod.ts";
import type { Output } from "../cli/output.ts";
import { stunUrl } from "./relay_url.ts";
import { probeNatInfo } from "./nat.ts";
import { GuestAttempts } from "./attempts.ts";
import { type QuicAttempts, type QuicOpen } from "./quic_attempts.ts";
import { PeerAuth } from "./auth.ts";
import { muxCheck, PEER_CHECK_MS, peerAnswers, type PeerCheck } from "./liveness.ts";
import { RELAY_MODE_TIMEOUT_MS, splitIceServers } from "./ice.ts";

export interface GuestOptions {
  code: string;
  /** Local port to open; 0 picks a free one. */
  port: number;
  /** Address of the local port. Default 127.0.0.1. */
  bind?: string;
  /** Relay base URL; undefined looks for the host's embedded relay on the LAN. */
  relayUrl?: string;
  /** How long the direct attempt may take before relay mode. */
  p2pTimeoutMs: number;
  /** The relay's access secret, if it requires tokens. */
  token?: string;
  /**
   * The data plane: "webrtc" (default; a DataChannel) or "quic" (Deno's QUIC,
   * lib/quic). "webrtc" becomes "quic" when @roamhq/wrtc does not load.
   */
  transport?: "webrtc" | "quic";
  out: Output;
}

/** Runs until SIGINT/SIGTERM (0) or the host goes away / an error (1). */
export async function runGuest(options: GuestOptions): Promise<number> {
  const { out } = options;
  const started = performance.now();
  const code = parseJoinCode(options.code); // throws JoinCodeError: a usage error

  let relayUrl = options.relayUrl;
  if (!relayUrl) {
    out.say(`looking for session ${code.name} on the LAN ...`);
    relayUrl = await discover(code.name, { port: discoveryPort(process.env), timeoutMs: 3000 }) ??
      undefined;
    if (!relayUrl) {
      out.error(
        `no host for ${code.name} answered on this LAN; use the full join command the host printed (with --relay), or set TUN_RELAY`,
      );
      return 1;
    }
  }

  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => finish = resolve);
  let fatal = (message: string) => {
    out.error(message);
    finish(1);
  };

  // WebRTC unless asked otherwise or unavailable.
  const noWebrtc = options.transport === "quic" ? null : webrtcUnavailable();
  const transport = options.transport === "quic" || noWebrtc ? "quic" : "webrtc";
  if (transport === "quic" && !hasQuic()) {
    out.error(
      (noWebrtc ? `${noWebrtc}, and ` : "") +
        `QUIC needs Deno run with --unstable-net (this is ${runtimeName})`,
    );
    return 1;
  }
  if (noWebrtc) out.say(out.yellow(`note: ${noWebrtc}; using QUIC`));
  // QUIC's code and this session's certificate take a few hundred ms to load
  // and make the first time: begin now, while the signalling connects.
  const quicCode = transport === "quic"
    ? import("./quic_attempts.ts").then((m) => {
      m.QuicAttempts.prepare();
      return m;
    })
    : null;
  quicCode?.catch(() => {}); // awaited (and reported) below

  // Listen first, so the port number is known early and early connections wait.
  let resolveMux: (m: Mux | TunnelLink) => void = () => {};
  let rejectMux: (e: Error) => void = () => {};
  const muxReady = new Promise<Mux | TunnelLink>((res, rej) => {
    resolveMux = res;
    rejectMux = rej;
  });
  muxReady.catch(() => {});
  let listener: Awaited<ReturnType<typeof serveGuestPort>>;
  try {
    const portOptions = {
      hostname: options.bind ?? "127.0.0.1",
      port: options.port,
      // Connections may wait for the direct attempt and then relay mode.
      pendingTimeoutMs: options.p2pTimeoutMs + RELAY_MODE_TIMEOUT_MS + 5_000,
    };
    // QUIC links (quic_link.ts) also carry the runtime's own TCP connections,
    // which cost less per chunk than node:net sockets (lib/tunnel/guest_conns.ts).
    listener = transport === "quic"
      ? await serveGuestConns(muxReady as Promise<ConnLink>, portOptions)
      : await serveGuestPort(muxReady, portOptions);
  } catch (err) {
    out.error(`cannot listen on port ${options.port}: ${(err as Error).message}`);
    return 1;
  }

  let signal: SignalClient | undefined;
  let iceServers: IceServer[] = [];
  let stopAttempts = () => {};
  let mux: Mux | undefined;
  /** What carries connections now (a mux, or a QUIC link). */
  let link: Mux | TunnelLink | undefined;
  let joinedMsg: Extract<Message, { t: "joined" }> | undefined;
  /** How to ask the host whether it is there (null through the relay's QUIC splice). */
  let hostCheck: PeerCheck | null = null;
  const cleanup = () => {
    stopAttempts();
    rejectMux(new Error("stopped"));
    mux?.close("guest stopped");
    listener.close();
    return signal?.close();
  };

  try {
    signal = await SignalClient.connect({ relayUrl, params: tokenParams(options.token) });
    signal.send({ t: "join", name: code.name });
    const joined = await signal.next(["joined"]);
    if (joined.t === "joined") {
      iceServers = joined.ice;
      joinedMsg = joined;
    }
  } catch (err) {
    cleanup();
    out.error(`cannot join ${code.name}: ${(err as Error).message}`);
    return 1;
  }
  const sig = signal;
  if (!iceServers.length) iceServers = [{ urls: [stunUrl(relayUrl, sig.welcome.stun_port)] }];
  const { stun, turn } = splitIceServers(iceServers);

  let ready = false;
  const auth = new PeerAuth({
    role: "initiator",
    password: code.secret,
    sessionName: code.name,
    send: (e, data) => sig.send({ t: "signal", peer: 0, epoch: e, data }),
  });
  // Messages that arrive before the handler below is set (the host's NAT
  // report, while the QUIC endpoint opens) are kept and handled then.
  const early: Message[] = [];
  sig.onmessage = (msg) => early.push(msg);
  // The QUIC data plane: its endpoint first, so its offer is our first message.
  let quic: QuicAttempts | undefined;
  if (transport === "quic") {
    if (!sig.welcome.quic) {
      cleanup();
      out.error("the relay has no QUIC listener: it needs Deno, and --transport quic needs one");
      return 1;
    }
    try {
      const { QuicAttempts } = await quicCode!;
      quic = await QuicAttempts.open({
        relayHost: new URL(relayUrl).hostname,
        relay: sig.welcome.quic,
        peer: joinedMsg?.peer ?? 0,
        token: joinedMsg?.quic_token ?? null,
        auth,
        p2pTimeoutMs: options.p2pTimeoutMs,
        send: (e, data) => sig.send({ t: "signal", peer: 0, epoch: e, data }),
        onopen: (open) => quicConnected(open),
        onfatal: (message) => fatal(message),
      });
    } catch (err) {
      cleanup();
      out.error(`cannot reach the relay's QUIC listener: ${(err as Error).message}`);
      return 1;
    }
    const q = quic;
    stopAttempts = () => q.close();
  }

  const attempts = new GuestAttempts({
    auth,
    stun,
    turn,
    p2pTimeoutMs: options.p2pTimeoutMs,
    loopbackCandidates: offerLoopbackCandidates(relayUrl),
    send: (e, data) => sig.send({ t: "signal", peer: 0, epoch: e, data }),
    onopen: (peer, channel, _mode, reason) => {
      attempts.settle();
      connected(peer, new Mux(channel), reason);
    },
    onfatal: (message) => fatal(message),
  });
  if (!quic) stopAttempts = () => attempts.close();

  // Our NAT's behaviour, probed in parallel with the direct attempt (RFC 5780,
  // lib/nat); with the host's it can rule the direct attempt out early.
  const ownNat = (nat: NatInfo) => {
    sig.send({ t: "signal", peer: 0, epoch: 0, data: { kind: "nat", nat } });
    (quic ?? attempts).nat("own", nat);
  };
  probeNatInfo(relayUrl, sig.welcome, ownNat).then(ownNat);

  /** Send connections through `next`: the first link, or one replacing it. */
  const use = (next: Mux | TunnelLink) => {
    link = next;
    if (!ready) resolveMux(next);
    else listener.attach(next);
  };

  const connected = async (peer: RtcPeer, m: Mux, reason: string) => {
    mux = m;
    hostCheck = muxCheck(m);
    m.onclose = (why) => fatal(`the host closed the connection (${why})`);
    use(m);
    const path = await peer.path().catch(() => null);
    const rtt = path?.rttMs ?? await m.ping().catch(() => null);
    const p = path?.path ?? (attempts.epoch > 0 ? "relay" : "direct");
    report({
      path: p,
      transport: "webrtc",
      reason,
      rtt,
      local_candidate: path?.local,
      remote_candidate: path?.remote,
      remote_address: path?.remoteAddress ?? undefined,
      pair: `${path?.local ?? "?"} ↔ ${path?.remote ?? "?"}`,
    });
  };

  const quicConnected = (open: QuicOpen) => {
    hostCheck = open.check;
    use(open.link);
    report({
      path: open.path,
      transport: "quic",
      reason: open.reason,
      rtt: open.rttMs,
      local_address: open.local,
      remote_address: open.remote ?? undefined,
      pair: open.path === "direct"
        ? `QUIC ${open.local} ↔ ${open.remote}`
        : "QUIC, through the relay",
    });
  };

  /** The `path` event, and `ready` the first time. */
  const report = (r: {
    path: string;
    transport: "webrtc" | "quic";
    reason: string;
    rtt: number | null;
    local_candidate?: string;
    remote_candidate?: string;
    local_address?: string;
    remote_address?: string;
    pair: string;
  }) => {
    const rttMs = r.rtt === null ? null : Math.round(r.rtt * 10) / 10;
    const p = r.path;
    const { reason, pair } = r;
    out.emit(
      {
        event: "path",
        path: p,
        transport: r.transport,
        reason,
        local_candidate: r.local_candidate,
        remote_candidate: r.remote_candidate,
        local_address: r.local_address,
        remote_address: r.remote_address,
        rtt_ms: rttMs,
      },
      p === "relay" ? `path: relay (${reason})` : undefined,
    );
    if (ready) return;
    ready = true;
    const elapsed = Math.round(performance.now() - started);
    out.emit(
      {
        event: "ready",
        path: p,
        transport: r.transport,
        port: listener.port,
        rtt_ms: rttMs,
        elapsed_ms: elapsed,
        local_candidate: r.local_candidate,
        remote_candidate: r.remote_candidate,
      },
      [
        `${out.bold("tun p2p-join")}  ${code.name}`,
        `  local  ${out.bold(`127.0.0.1:${listener.port}`)}  → host's shared port`,
        `  path   ${out.green(p)} (${pair})  rtt ${rttMs ?? "?"} ms  ready in ${elapsed} ms`,
      ].join("\n"),
    );
  };

  sig.onmessage = (msg) => {
    if (msg.t !== "signal") return;
    const data = msg.data;
    if (data.kind === "nat") return (quic ?? attempts).nat("host", data.nat);
    if (data.kind === "reject") return fatal(`the host refused: ${data.reason}`);
    if (data.kind === "pake" || data.kind === "confirm") {
      try {
        auth.handle(msg.epoch, data);
      } catch (err) {
        fatal(`authentication failed: ${(err as Error).message}`);
      }
      return;
    }
    (quic ?? attempts).handleSignal(msg.epoch, data);
  };
  sig.onclose = (reason) => {
    // Once connected, that connection is what counts: the relay may come and
    // go. Relay mode over QUIC needs the session at the relay.
    const check = hostCheck;
    if (!link || !check || (quic && quic.epoch > 0)) {
      return fatal(`relay closed the session: ${reason}`);
    }
    const lost = () =>
      out.emit(
        { event: "relay-lost", reason },
        out.yellow(`relay connection lost (${reason}); the connection to the host still works`),
      );
    // The relay went: peers connected directly carry on. But when it says
    // the host left, or the tunnel runs through its TURN, ask the host itself
    // (the relay alone cannot end a live tunnel).
    if (reason !== HOST_LEFT && attempts.epoch === 0) return lost();
    peerAnswers(check).then((alive) => {
      if (alive) return lost();
      if (attempts.epoch > 0) {
        return fatal(`relay closed the session (${reason}); relay mode through it is gone too`);
      }
      fatal(
        `lost the host: the relay closed the session (${reason}) and the host did not answer through the tunnel within ${
          PEER_CHECK_MS / 1000
        } s`,
      );
    });
  };

  for (const msg of early.splice(0)) sig.onmessage(msg);

  if (quic) {
    quic.start(); // the offer goes first: it tells the host which data plane
    auth.start();
  } else {
    auth.start();
    attempts.start();
  }

  const stop = () => finish(0);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const exitCode = await done;
  fatal = () => {};
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  await cleanup();
  return exitCode;
}
