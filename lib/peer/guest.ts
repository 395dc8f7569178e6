/**
 * `tun p2p-join <code>`: open a local port that reaches the host's shared port.
 *
 * The local port listens at once; connections made while the peers connect
 * wait and then go through. The direct attempt comes first (STUN only); if no
 * DataChannel opens within --p2p-timeout, or ICE fails sooner, the guest asks
 * the host for relay mode and both make a new, relay-only peer connection
 * through the relay's TURN server. That switch is quiet: one `path` line.
 */
import { tokenParams } from "../auth/mod.ts";
import process from "node:process";
import { parseJoinCode } from "../code/mod.ts";
import { type IceServer, SignalClient } from "../signal/mod.ts";
import type { RtcPeer } from "../rtc/mod.ts";
import { Mux, serveGuestPort } from "../tunnel/mod.ts";
import { discover, discoveryPort } from "../discovery/mod.ts";
import type { Output } from "../cli/output.ts";
import { stunUrl } from "./relay_url.ts";
import { probeNatInfo } from "./nat.ts";
import { GuestAttempts } from "./attempts.ts";
import { PeerAuth } from "./auth.ts";
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

  // Listen first, so the port number is known early and early connections wait.
  let resolveMux: (m: Mux) => void = () => {};
  let rejectMux: (e: Error) => void = () => {};
  const muxReady = new Promise<Mux>((res, rej) => {
    resolveMux = res;
    rejectMux = rej;
  });
  muxReady.catch(() => {});
  let listener: Awaited<ReturnType<typeof serveGuestPort>>;
  try {
    listener = await serveGuestPort(muxReady, {
      hostname: options.bind ?? "127.0.0.1",
      port: options.port,
      // Connections may wait for the direct attempt and then relay mode.
      pendingTimeoutMs: options.p2pTimeoutMs + RELAY_MODE_TIMEOUT_MS + 5_000,
    });
  } catch (err) {
    out.error(`cannot listen on port ${options.port}: ${(err as Error).message}`);
    return 1;
  }

  let signal: SignalClient | undefined;
  let iceServers: IceServer[] = [];
  let stopAttempts = () => {};
  let mux: Mux | undefined;
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
    if (joined.t === "joined") iceServers = joined.ice;
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
  const attempts = new GuestAttempts({
    auth,
    stun,
    turn,
    p2pTimeoutMs: options.p2pTimeoutMs,
    send: (e, data) => sig.send({ t: "signal", peer: 0, epoch: e, data }),
    onopen: (peer, channel, _mode, reason) => {
      attempts.settle();
      connected(peer, new Mux(channel), reason);
    },
    onfatal: (message) => fatal(message),
  });
  stopAttempts = () => attempts.close();

  // Our NAT's behaviour, probed in parallel with the direct attempt (RFC 5780,
  // lib/nat); with the host's it can rule the direct attempt out early.
  probeNatInfo(relayUrl, sig.welcome).then((nat) => {
    sig.send({ t: "signal", peer: 0, epoch: 0, data: { kind: "nat", nat } });
    attempts.nat("own", nat);
  });

  const connected = async (peer: RtcPeer, m: Mux, reason: string) => {
    mux = m;
    m.onclose = (why) => fatal(`the host closed the connection (${why})`);
    if (!ready) resolveMux(m);
    else listener.attach(m);
    const path = await peer.path().catch(() => null);
    const rtt = path?.rttMs ?? await m.ping().catch(() => null);
    const rttMs = rtt === null ? null : Math.round(rtt * 10) / 10;
    const p = path?.path ?? (attempts.epoch > 0 ? "relay" : "direct");
    const pair = `${path?.local ?? "?"} ↔ ${path?.remote ?? "?"}`;
    out.emit(
      {
        event: "path",
        path: p,
        reason,
        local_candidate: path?.local,
        remote_candidate: path?.remote,
        remote_address: path?.remoteAddress,
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
        port: listener.port,
        rtt_ms: rttMs,
        elapsed_ms: elapsed,
        local_candidate: path?.local,
        remote_candidate: path?.remote,
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
    if (data.kind === "nat") return attempts.nat("host", data.nat);
    if (data.kind === "reject") return fatal(`the host refused: ${data.reason}`);
    if (data.kind === "pake" || data.kind === "confirm") {
      try {
        auth.handle(msg.epoch, data);
      } catch (err) {
        fatal(`authentication failed: ${(err as Error).message}`);
      }
      return;
    }
    attempts.handleSignal(msg.epoch, data);
  };
  sig.onclose = (reason) => {
    // Once connected, the DataChannel is what counts: the relay may come and go.
    if (!mux) fatal(`relay closed the session: ${reason}`);
  };

  auth.start();
  attempts.start();

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
