/**
 * `tun p2p <port>`: share a local TCP port. Registers with a relay (or embeds
 * one for the LAN), prints the join code, and answers every guest with its own
 * WebRTC peer connection whose streams dial only 127.0.0.1:<port>.
 *
 * Each guest starts with a direct attempt (epoch 0). If the guest asks for
 * relay mode (epoch 1), the host drops the direct attempt and answers a
 * relay-only offer through the relay's TURN server.
 *
 * A guest's first signalling message says which data plane it uses: `quic`
 * (the QUIC data plane, quic_host.ts) or anything else (WebRTC). The host
 * serves both kinds at once, WebRTC only when @roamhq/wrtc loads.
 */
import { tokenParams } from "../auth/mod.ts";
import net from "node:net";
import process from "node:process";
import { formatJoinCode, mintSecret } from "../code/mod.ts";
import { type IceServer, SignalClient, type SignalData } from "../signal/mod.ts";
import { type PathInfo, RtcPeer, webrtcUnavailable } from "../rtc/mod.ts";
import { Mux, serveHostStreams } from "../tunnel/mod.ts";
import { discoveryPort, startResponder } from "../discovery/mod.ts";
import { type Relay, startRelay } from "../../relay/mod.ts";
import { formatBytes, type Output } from "../cli/output.ts";
import { lanAddress, stunUrl } from "./relay_url.ts";
import { RELAY_MODE_TIMEOUT_MS, splitIceServers } from "./ice.ts";
import { type GuestStatus, removeStatus, writeStatus } from "./status.ts";
import { probeNatInfo } from "./nat.ts";
import { PeerAuth } from "./auth.ts";
import { AuditLog } from "./audit.ts";
import { type DevCert, devCert } from "../cli/dev_cert.ts";
import { HostWebTransport, type WebTransportLink } from "./host_webtransport.ts";
import { WEBTRANSPORT_KEY_LABEL } from "./webtransport_auth.ts";
import { HostQuic, type HostQuicGuest } from "./quic_host.ts";

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

/** Failed authentications after which the host retires its join code. */
export const MAX_FAILED_ATTEMPTS = 3;

interface GuestState {
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
function pathName(g: GuestState): string {
  if (g.wt) return "webtransport";
  if (g.quic?.path) return g.quic.path.path;
  return g.path?.path ?? (g.epoch > 0 ? "relay" : "direct");
}

/** What carries a connected guest's bytes: its mux, WebTransport session or QUIC link. */
function linkOf(g: GuestState): { bytesSent: number; bytesReceived: number } | undefined {
  return g.mux ?? g.wt ?? (g.quic?.path ? g.quic : undefined);
}

/** Whether something accepts TCP connections on 127.0.0.1:port (a hint for the user). */
function probeTarget(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
    sock.setTimeout(2000, () => done(false));
  });
}

/** Runs until SIGINT/SIGTERM (resolves 0) or a fatal error (resolves 1). */
export async function runHost(options: HostOptions): Promise<number> {
  const { out } = options;
  let relay: Relay | undefined;
  let relayUrl = options.relayUrl;
  let publicRelayUrl = relayUrl;
  let responder: { close(): void } | undefined;
  let devTls: DevCert | undefined;
  /** The https origin browser guests open (the relay's, or the embedded one's). */
  let webOrigin: string | null = null;
  if (!relayUrl) {
    // LAN mode. TURN keeps refusing private peers other than its own relayed
    // addresses: a guest holding only the session name must not reach this
    // machine's loopback services through it.
    // HTTPS too, for browser guests, with the saved development certificate.
    devTls = await devCert([lanAddress()]).catch((err: Error) => {
      out.say(out.yellow(`note: no HTTPS for browser guests (${err.message})`));
      return undefined;
    });
    relay = await startRelay({
      hostname: "0.0.0.0",
      port: 0,
      stunPort: 0,
      https: devTls && { port: 0, certPem: devTls.certPem, keyPem: devTls.keyPem },
    });
    relayUrl = `http://127.0.0.1:${relay.port}`;
    publicRelayUrl = `http://${lanAddress()}:${relay.port}`;
    if (relay.httpsPort !== null) webOrigin = `https://${lanAddress()}:${relay.httpsPort}`;
    const sessions = relay.sessions;
    responder = await startResponder({
      port: discoveryPort(process.env),
      relayPort: relay.port,
      hosts: (name) => sessions.has(name),
    });
  }

  let signal: SignalClient;
  try {
    signal = await SignalClient.connect({
      relayUrl,
      params: tokenParams(relay ? undefined : options.token),
    });
  } catch (err) {
    responder?.close();
    await relay?.close();
    out.error((err as Error).message);
    return 1;
  }
  let iceServers: IceServer[] = [{ urls: [stunUrl(relayUrl, signal.welcome.stun_port)] }];
  const guests = new Map<number, GuestState>();
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => finish = resolve);

  signal.send({ t: "host" });
  let name: string;
  try {
    const hosted = await signal.next(["hosted"]);
    if (hosted.t !== "hosted") throw new Error("unexpected reply");
    name = hosted.name;
    if (hosted.ice.length) iceServers = hosted.ice;
    if (!relay) webOrigin = hosted.web;
  } catch (err) {
    signal.close();
    responder?.close();
    await relay?.close();
    out.error(`relay refused to host: ${(err as Error).message}`);
    return 1;
  }
  const { stun, turn } = splitIceServers(iceServers);
  // WebRTC only when asked for and loadable; QUIC guests are served either way.
  const noWebrtc = options.transport === "quic"
    ? "this host takes QUIC guests only (--transport quic)"
    : webrtcUnavailable();
  const quic = new HostQuic({
    targetPort: options.port,
    relayHost: new URL(relayUrl).hostname,
    relay: signal.welcome.quic,
    log: (line) => out.say(out.yellow(`note: ${line}`)),
  });
  if (noWebrtc && quic.unavailable()) {
    signal.close();
    responder?.close();
    await relay?.close();
    out.error(`no data plane: ${noWebrtc}, and ${quic.unavailable()}`);
    return 1;
  }
  if (noWebrtc && options.transport !== "quic") {
    out.say(out.yellow(`note: ${noWebrtc}; serving QUIC guests only`));
  }
  let audit: AuditLog;
  try {
    audit = new AuditLog(options.auditLog, (m) => out.say(out.yellow(`warning: ${m}`)));
  } catch (err) {
    signal.close();
    responder?.close();
    await relay?.close();
    out.error(`cannot open the audit log ${options.auditLog}: ${(err as Error).message}`);
    return 1;
  }
  // Our NAT's behaviour, told to every guest so it can skip a hopeless direct attempt.
  const nat = probeNatInfo(relayUrl, signal.welcome);
  const secret = mintSecret();
  const code = formatJoinCode({ name, secret });
  const cmd = options.command ?? "tun";
  const join = `${cmd} p2p-join ${code} --relay ${publicRelayUrl}`;
  // The secret goes in the fragment, which browsers never send to the relay.
  // A browser cannot present the relay's access token: no link on such a relay.
  const tokenRelay = !relay && options.token !== undefined;
  const link = webOrigin && !tokenRelay
    ? `${webOrigin}/_tun/join/${name}?port=${options.port}#${secret}`
    : null;
  const startedAt = new Date().toISOString();
  out.emit(
    {
      event: "code",
      code,
      join,
      link,
      port: options.port,
      relay: publicRelayUrl,
      embedded_relay: !!relay,
      audit_log: audit.path,
    },
    [
      `${out.bold("tun p2p")}  sharing 127.0.0.1:${options.port}`,
      `  code   ${out.bold(code)}`,
      `  join   ${join}`,
      link ? `  open   ${link}` : `  open   ${
        out.dim(
          tokenRelay
            ? "(no browser link: browsers cannot present the relay's token)"
            : "(no browser link: the relay has no https listener)",
        )
      }`,
      ...(devTls && link
        ? [`  cert   ${out.dim(`self-signed; browsers must trust ${devTls.certPath}`)}`]
        : []),
      !relay
        ? `  relay  ${publicRelayUrl}`
        : publicRelayUrl!.includes("//127.0.0.1:")
        ? `  relay  embedded, this machine only (no LAN interface found)`
        : `  relay  embedded, LAN only; guests on this LAN can omit --relay`,
      `  status ${cmd} p2p status ${code}`,
      `  audit  ${audit.path}`,
    ].join("\n"),
  );

  const guestStatus = (g: GuestState): GuestStatus => ({
    guest: g.peer,
    from: g.from,
    path: linkOf(g) ? pathName(g) : "connecting",
    reason: g.reason,
    rtt_ms: g.rttMs,
    bytes_sent: linkOf(g)?.bytesSent ?? 0,
    bytes_received: linkOf(g)?.bytesReceived ?? 0,
    since: g.since,
  });
  const publish = () =>
    writeStatus({
      name,
      pid: process.pid,
      port: options.port,
      relay: publicRelayUrl!,
      started: startedAt,
      guests: [...guests.values()].map(guestStatus),
    });
  publish();

  let failures = 0;
  let retired = false;
  let onceTaken = false;

  /** Refuse a guest: tell it why, log it, and (for a failed proof) count it. */
  const reject = (peer: number, from: string, reason: string, failedProof = false) => {
    // The signalling codec takes reasons of up to 256 characters (lib/signal).
    const said = reason.length > 256 ? `${reason.slice(0, 255)}…` : reason;
    signal.send({ t: "signal", peer, epoch: 0, data: { kind: "reject", reason: said } });
    audit.write({
      session: name,
      outcome: "rejected",
      peer_address: from,
      path: null,
      bytes_sent: 0,
      bytes_received: 0,
      reason,
    });
    out.emit(
      { event: "guest-rejected", guest: peer, from, reason },
      `guest ${peer}  rejected   ${reason}`,
    );
    if (!failedProof || retired) return;
    failures++;
    if (failures < MAX_FAILED_ATTEMPTS) return;
    retired = true;
    const why =
      `join code retired after ${MAX_FAILED_ATTEMPTS} failed attempts; restart tun p2p for a new code`;
    out.emit({ event: "code-retired", reason: why }, out.yellow(why));
    if (guests.size === 0) {
      out.error(why);
      // Let the relay pass the guest its refusal before we leave.
      setTimeout(() => finish(1), 300);
    }
  };

  /** Stop guest `g`'s timer, mux and peer connection; false if it was already gone. */
  const dropGuest = (g: GuestState, reason: string): boolean => {
    if (g.closed) return false;
    g.closed = true;
    clearTimeout(g.timer);
    guests.delete(g.peer);
    g.mux?.close(reason);
    g.wt?.close(reason);
    g.rtc?.close();
    g.quic?.close(reason);
    return true;
  };

  const endGuest = (g: GuestState, reason: string) => {
    const sent = linkOf(g)?.bytesSent ?? 0;
    const received = linkOf(g)?.bytesReceived ?? 0;
    if (!dropGuest(g, reason)) return;
    if (g.authed) {
      audit.write({
        session: name,
        outcome: "accepted",
        peer_address: g.from,
        path: linkOf(g) ? pathName(g) : null,
        bytes_sent: sent,
        bytes_received: received,
        reason,
      });
    } else {
      // Never proved it knows the code: a failed attempt.
      reject(g.peer, g.from, `did not authenticate: ${reason}`, true);
    }
    if (options.once && g.authed && reason !== "host stopped") {
      out.say("the one guest has left (--once): stopping");
      finish(0);
    }
    out.emit(
      { event: "guest-left", guest: g.peer, reason, bytes_sent: sent, bytes_received: received },
      `guest ${g.peer}  left       ${reason}  ${
        out.dim(`sent ${formatBytes(sent)}, received ${formatBytes(received)}`)
      }`,
    );
    publish();
  };

  /** A peer connection for guest `g`'s current epoch (0 direct, 1 relay mode). */
  const answer = (g: GuestState): RtcPeer => {
    const relayMode = g.epoch > 0;
    const epoch = g.epoch;
    const rtc = new RtcPeer({
      role: "answerer",
      iceServers: relayMode ? turn : stun,
      iceTransportPolicy: relayMode ? "relay" : "all",
      sendSignal: (data: SignalData) => signal.send({ t: "signal", peer: g.peer, epoch, data }),
    });
    clearTimeout(g.timer);
    // The guest decides when to switch to relay mode; the host only gives up
    // once both attempts have had their time.
    g.timer = setTimeout(
      () => endGuest(g, relayMode ? "relay mode did not connect" : "guest never connected"),
      relayMode ? RELAY_MODE_TIMEOUT_MS + 5_000 : options.p2pTimeoutMs + RELAY_MODE_TIMEOUT_MS,
    );
    rtc.onfailed = (why) => {
      if (g.rtc !== rtc) return;
      // A failed direct attempt is the guest's cue for relay mode: wait for it.
      if (relayMode || g.mux) endGuest(g, why);
      else if (g.wt) return; // the browser guest chose WebTransport
    };
    rtc.descriptions.catch(() => {});
    // No tunnel byte flows before the guest proves it knows the code and both
    // DTLS fingerprints are bound to that proof.
    const authed = rtc.descriptions.then((d) => g.auth.bind(epoch, d));
    authed.then(() => {
      if (g.rtc !== rtc || g.closed) return;
      g.authed = true;
      g.setKeyed();
      if (options.once) onceTaken = true;
    }, (err: Error) => {
      // Even for an attempt given up: a confirmation that does not verify
      // means a wrong code or a tampering relay, whichever attempt it was.
      if (g.closed) return;
      failAuth(g, err.message);
    });
    Promise.all([rtc.opened, authed]).then(([channel]) => {
      if (g.closed || g.rtc !== rtc) return;
      clearTimeout(g.timer);
      connected(g, rtc, new Mux(channel));
    }, () => {/* failure is reported through onfailed, failAuth or the timer */});
    return rtc;
  };

  const connected = async (g: GuestState, rtc: RtcPeer, mux: Mux) => {
    g.mux = mux;
    g.since = new Date().toISOString();
    serveHostStreams(mux, { targetHost: "127.0.0.1", targetPort: options.port });
    mux.onclose = () => endGuest(g, "guest disconnected");
    g.path = (await rtc.path().catch(() => null)) ?? undefined;
    const rtt = g.path?.rttMs ?? await mux.ping().catch(() => null);
    g.rttMs = rtt === null ? null : Math.round(rtt * 10) / 10;
    announce(g);
  };

  /** Browser guests over WebTransport (Deno only; started on the first such guest). */
  const webTransport = HostWebTransport.available
    ? new HostWebTransport({
      targetPort: options.port,
      log: (line) => out.say(out.yellow(`note: ${line}`)),
      guest: (peer) => {
        const g = guests.get(peer);
        if (!g || !g.browser) return undefined;
        return {
          key: () => g.authed && !g.closed ? g.auth.deriveKey(WEBTRANSPORT_KEY_LABEL, 32) : null,
          accept: (link) => {
            if (g.closed || g.wt) return false;
            clearTimeout(g.timer);
            // The browser prefers WebTransport: a DataChannel it opened
            // meanwhile is dropped (it closes its side too).
            if (g.mux) {
              g.mux.onclose = null;
              g.mux.close("the guest moved to WebTransport");
              g.mux = undefined;
              g.path = undefined;
            }
            g.rtc?.close();
            g.wt = link;
            g.rttMs = null; // the DataChannel's, if any, no longer applies
            g.since = new Date().toISOString();
            g.reason = "connected";
            link.onclose = (why) => endGuest(g, why);
            announce(g);
            return true;
          },
        };
      },
    })
    : null;

  /** Tell the user (and `tun p2p status`) which path a guest connected on. */
  const announce = (g: GuestState) => {
    const p = pathName(g);
    const transport = g.wt ? "webtransport" : g.transport ?? "webrtc";
    const remoteAddress = g.quic ? g.quic.path?.remote ?? undefined : g.path?.remoteAddress;
    out.emit(
      {
        event: "path",
        guest: g.peer,
        path: p,
        transport,
        reason: g.reason,
        local_candidate: g.path?.local,
        remote_candidate: g.path?.remote,
        remote_address: remoteAddress,
        rtt_ms: g.rttMs,
      },
      `guest ${g.peer}  connected  ${p === "relay" ? out.yellow(p) : out.green(p)} (${
        p === "direct"
          ? g.quic ? `QUIC, ${remoteAddress}` : `${g.path?.local ?? "?"} ↔ ${g.path?.remote ?? "?"}`
          : p === "webtransport"
          ? "browser, QUIC"
          : `${g.quic ? "QUIC, " : ""}${g.reason}`
      })  rtt ${g.rttMs ?? "?"} ms`,
    );
    publish();
  };

  /** A QUIC guest's offer (its first message): answer it and start the simultaneous open. */
  const startQuic = async (g: GuestState, offer: Extract<SignalData, { kind: "quic" }>) => {
    const why = quic.unavailable();
    if (why) {
      dropGuest(g, why);
      return reject(g.peer, g.from, `${why}; join with --transport webrtc`);
    }
    let qg: HostQuicGuest;
    try {
      qg = await quic.guest(g.peer, offer, g.auth, g.quicToken);
    } catch (err) {
      if (!dropGuest(g, "QUIC failed")) return;
      return reject(g.peer, g.from, `QUIC failed at the host: ${(err as Error).message}`);
    }
    if (g.closed) return qg.close("guest left");
    g.quic = qg;
    signal.send({ t: "signal", peer: g.peer, epoch: 0, data: qg.answer });
    qg.authed.then(() => {
      if (g.closed) return;
      g.authed = true;
      g.setKeyed();
      if (options.once) onceTaken = true;
    }, (err: Error) => {
      if (!g.closed) failAuth(g, err.message);
    });
    qg.onpath = (info) => {
      if (g.closed) return;
      clearTimeout(g.timer);
      g.since = new Date().toISOString();
      if (info.path === "direct") g.reason = "connected";
      g.rttMs = info.rttMs === null ? null : Math.round(info.rttMs * 10) / 10;
      announce(g);
    };
    qg.onclose = (reason) => endGuest(g, reason);
    // Relay mode may have begun while the endpoint opened.
    if (qg.path) qg.onpath(qg.path);
    else if (g.epoch > 0) qg.relayMode();
  };

  /**
   * Whether a browser guest can reach our WebTransport endpoint: we have the
   * public address the relay sees, or the guest is behind the same NAT (same
   * public address), or we embed the relay (one LAN). Otherwise it would wait
   * for a QUIC handshake that cannot complete while the DataChannel is ready.
   */
  const webTransportReachable = (g: GuestState): boolean => {
    const ownPublic = signal.welcome.addr.address;
    const guestIp = g.from.replace(/:\d+$/, "");
    return !!relay || guestIp === ownPublic || HostWebTransport.isLocalAddress(ownPublic);
  };

  /**
   * Offer a browser guest our WebTransport endpoint, once its PAKE proof has
   * verified (the offer is tagged with a key derived from it).
   */
  const offerWebTransport = async (g: GuestState, wt: HostWebTransport) => {
    await g.keyed;
    if (g.closed) return;
    try {
      const offer = await wt.offer(g.auth.deriveKey(WEBTRANSPORT_KEY_LABEL, 32));
      if (!g.closed) {
        signal.send({
          t: "signal",
          peer: g.peer,
          epoch: 0,
          data: { kind: "webtransport", ...offer },
        });
      }
    } catch (err) {
      out.say(out.yellow(`note: WebTransport unavailable: ${(err as Error).message}`));
    }
  };

  /** The guest's proof failed: wrong code, or the relay altered the SDP. */
  const failAuth = (g: GuestState, why: string) => {
    if (!dropGuest(g, "authentication failed")) return;
    reject(g.peer, g.from, `wrong join code, or the connection was tampered with (${why})`, true);
    publish();
  };

  const startGuest = (peer: number, from: string, quicToken: Uint8Array | null) => {
    if (retired) return reject(peer, from, "this join code was retired after failed attempts");
    if (options.once && (onceTaken || guests.size > 0)) {
      return reject(peer, from, "this share accepts one guest only");
    }
    if (options.maxGuests !== undefined && guests.size >= options.maxGuests) {
      return reject(peer, from, `the host accepts at most ${options.maxGuests} guests at once`);
    }
    const g: GuestState = {
      peer,
      from,
      epoch: 0,
      quicToken,
      auth: new PeerAuth({
        role: "responder",
        password: secret,
        sessionName: name,
        send: (epoch, data) => signal.send({ t: "signal", peer, epoch, data }),
      }),
      authed: false,
      keyed: null as unknown as Promise<void>, // set just below
      setKeyed: () => {},
      browser: false,
      reason: "connected",
      rttMs: null,
      since: new Date().toISOString(),
      closed: false,
    };
    g.keyed = new Promise((resolve) => g.setKeyed = resolve);
    guests.set(peer, g);
    // The guest's first message says which data plane it uses (onSignal).
    g.timer = setTimeout(
      () => endGuest(g, "guest never connected"),
      options.p2pTimeoutMs + RELAY_MODE_TIMEOUT_MS,
    );
    nat.then((info) => {
      if (!g.closed) signal.send({ t: "signal", peer, epoch: 0, data: { kind: "nat", nat: info } });
    });
    out.emit({ event: "guest", guest: peer, from }, `guest ${peer}  joining    from ${from}`);
    publish();
  };

  const onSignal = (g: GuestState, epoch: number, data: SignalData) => {
    // The first message other than a NAT report says which data plane.
    if (!g.transport && data.kind !== "nat") {
      if (data.kind === "quic") {
        g.transport = "quic";
        startQuic(g, data);
        return;
      }
      g.transport = "webrtc";
      // A browser guest may still come over WebTransport without a DataChannel.
      if (noWebrtc && !(data.kind === "browser" && data.webtransport)) {
        dropGuest(g, noWebrtc);
        return reject(g.peer, g.from, `${noWebrtc}; join with --transport quic`);
      }
      if (!noWebrtc) g.rtc = answer(g);
    }
    if (data.kind === "quic") return; // one offer per guest
    if (data.kind === "nat" || data.kind === "reject") return; // the guest decides relay mode
    if (data.kind === "webtransport") return; // host to guest only
    if (data.kind === "browser") {
      g.browser = true;
      // Tell the guest now whether an offer will come, so an open DataChannel
      // knows whether to wait for it.
      const offering = data.webtransport && !!webTransport && webTransportReachable(g);
      signal.send({
        t: "signal",
        peer: g.peer,
        epoch: 0,
        data: { kind: "browser", webtransport: offering },
      });
      if (offering) offerWebTransport(g, webTransport!);
      return;
    }
    if (data.kind === "pake" || data.kind === "confirm") {
      try {
        g.auth.handle(epoch, data);
      } catch (err) {
        failAuth(g, (err as Error).message);
      }
      return;
    }
    if (data.kind === "relay-mode") {
      if (g.transport === "quic") {
        if (epoch <= g.epoch) return;
        g.epoch = epoch;
        g.reason = data.reason;
        // A spliced stream may have come first: then say why now. (Before
        // the guest's QUIC state exists, startQuic looks at the epoch.)
        if (g.quic?.path?.path === "relay") announce(g);
        else g.quic?.relayMode();
        return;
      }
      if (epoch <= g.epoch || g.mux || !turn.length || !g.rtc) return;
      g.rtc.close();
      g.epoch = epoch;
      g.reason = data.reason;
      g.rtc = answer(g);
      return;
    }
    if (epoch !== g.epoch || !g.rtc) return; // a late message of an attempt given up
    g.rtc.handleSignal(data).catch((err) => endGuest(g, `bad signalling: ${err.message}`));
  };

  probeTarget(options.port).then((ok) => {
    if (!ok) {
      out.say(out.yellow(`note: nothing is listening on 127.0.0.1:${options.port} yet`));
    }
  });

  signal.onmessage = (msg) => {
    if (msg.t === "guest") {
      startGuest(msg.peer, `${msg.addr.address}:${msg.addr.port}`, msg.quic_token ?? null);
    } else if (msg.t === "signal") {
      const g = guests.get(msg.peer);
      if (g) onSignal(g, msg.epoch, msg.data);
    } else if (msg.t === "bye") {
      const g = guests.get(msg.peer);
      // A guest that is already connected peer to peer no longer needs the relay;
      // a QUIC guest in relay mode does.
      const direct = g?.mux || g?.wt || g?.quic?.path?.path === "direct";
      if (g && !direct) endGuest(g, msg.reason);
    }
  };
  signal.onclose = (reason) => {
    if (guests.size > 0) {
      out.say(out.yellow(`relay connection lost (${reason}); connected guests keep working`));
      out.emit({ event: "relay-lost", reason });
    } else {
      out.error(`relay connection lost: ${reason}`);
      finish(1);
    }
  };

  // Status for `tun p2p status`: rewritten every second while guests are on;
  // and every 10 s a live line per guest whose byte counts moved.
  let tick = 0;
  const lastShown = new Map<number, number>();
  const ticker = setInterval(() => {
    if (guests.size === 0) return;
    publish();
    if (++tick % 10 !== 0) return;
    for (const g of guests.values()) {
      if (!linkOf(g)) continue;
      const st = guestStatus(g);
      const total = st.bytes_sent + st.bytes_received;
      if (lastShown.get(g.peer) === total) continue;
      lastShown.set(g.peer, total);
      out.emit(
        { event: "stats", ...st },
        `guest ${g.peer}  ${st.path.padEnd(9)}  ${
          out.dim(
            `(${st.reason})  rtt ${st.rtt_ms ?? "?"} ms  sent ${
              formatBytes(st.bytes_sent)
            }, received ${formatBytes(st.bytes_received)}`,
          )
        }`,
      );
    }
  }, 1000);

  const stop = () => finish(0);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const exitCode = await done;
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  clearInterval(ticker);
  for (const g of [...guests.values()]) endGuest(g, "host stopped");
  webTransport?.close();
  quic.close();
  removeStatus(name);
  await signal.close();
  responder?.close();
  await relay?.close();
  return exitCode;
}
