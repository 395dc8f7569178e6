/**
 * `tun p2p-join <code>`: open a local port that reaches the host's shared port.
 * The local port listens at once; connections made while the peer connection
 * is being set up wait and then go through.
 */
import process from "node:process";
import { parseJoinCode } from "../code/mod.ts";
import { type IceServer, SignalClient, type SignalData } from "../signal/mod.ts";
import { RtcPeer } from "../rtc/mod.ts";
import { Mux, serveGuestPort } from "../tunnel/mod.ts";
import { discover, discoveryPort } from "../discovery/mod.ts";
import type { Output } from "../cli/output.ts";
import { stunUrl } from "./relay_url.ts";

export interface GuestOptions {
  code: string;
  /** Local port to open; 0 picks a free one. */
  port: number;
  /** Address of the local port. Default 127.0.0.1. */
  bind?: string;
  /** Relay base URL; undefined looks for the host's embedded relay on the LAN. */
  relayUrl?: string;
  /** How long to wait for a direct DataChannel. */
  p2pTimeoutMs: number;
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
  let listener: Awaited<ReturnType<typeof serveGuestPort>>;
  let resolveMux: (m: Mux) => void = () => {};
  let rejectMux: (e: Error) => void = () => {};
  const muxReady = new Promise<Mux>((res, rej) => {
    resolveMux = res;
    rejectMux = rej;
  });
  muxReady.catch(() => {});
  try {
    listener = await serveGuestPort(muxReady, {
      hostname: options.bind ?? "127.0.0.1",
      port: options.port,
    });
  } catch (err) {
    out.error(`cannot listen on port ${options.port}: ${(err as Error).message}`);
    return 1;
  }

  let signal: SignalClient | undefined;
  let iceServers: IceServer[] = [];
  // Assigned once signalling is up; cleanup() may run before that.
  // deno-lint-ignore prefer-const
  let rtc: RtcPeer | undefined;
  let mux: Mux | undefined;
  const cleanup = () => {
    rejectMux(new Error("stopped"));
    mux?.close("guest stopped");
    rtc?.close();
    signal?.close();
    listener.close();
  };

  try {
    signal = await SignalClient.connect({ relayUrl });
    signal.send({ t: "join", name: code.name });
    const joined = await signal.next(["joined"]);
    if (joined.t === "joined") iceServers = joined.ice;
  } catch (err) {
    cleanup();
    out.error(`cannot join ${code.name}: ${(err as Error).message}`);
    return 1;
  }
  const sig = signal;
  rtc = new RtcPeer({
    role: "offerer",
    iceServers: iceServers.length
      ? iceServers
      : [{ urls: [stunUrl(relayUrl, sig.welcome.stun_port)] }],
    sendSignal: (data: SignalData) => sig.send({ t: "signal", peer: 0, data }),
  });
  const peer = rtc;
  sig.onmessage = (msg) => {
    if (msg.t === "signal") {
      peer.handleSignal(msg.data).catch((err) => fatal(`bad signalling: ${err.message}`));
    }
  };
  sig.onclose = (reason) => {
    if (!mux) fatal(`relay closed the session: ${reason}`);
    else if (reason === "the host has left") fatal("the host has left");
  };
  peer.onfailed = (reason) => fatal(`peer connection ${reason.replace(/^connection /, "")}`);

  const timer = setTimeout(
    () =>
      fatal(
        `no direct path to the host within ${
          options.p2pTimeoutMs / 1000
        } s (both sides may be behind symmetric NATs)`,
      ),
    options.p2pTimeoutMs,
  );
  await peer.start().catch((err) => fatal(`cannot create offer: ${err.message}`));

  peer.opened.then(async (channel) => {
    clearTimeout(timer);
    mux = new Mux(channel);
    mux.onclose = () => fatal("the host closed the connection");
    resolveMux(mux);
    const path = await peer.path().catch(() => null);
    const rtt = path?.rttMs ?? await mux.ping().catch(() => null);
    const rttMs = rtt === null ? null : Math.round(rtt * 10) / 10;
    const elapsed = Math.round(performance.now() - started);
    const p = path?.path ?? "direct";
    out.emit({
      event: "path",
      path: p,
      reason: "connected",
      local_candidate: path?.local,
      remote_candidate: path?.remote,
      remote_address: path?.remoteAddress,
    });
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
        `  path   ${out.green(p)} (${path?.local ?? "?"} ↔ ${path?.remote ?? "?"})  rtt ${
          rttMs ?? "?"
        } ms  ready in ${elapsed} ms`,
      ].join("\n"),
    );
  }, () => {/* reported via onfailed / timer */});

  const stop = () => finish(0);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const exitCode = await done;
  fatal = () => {};
  clearTimeout(timer);
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  cleanup();
  return exitCode;
}
