/**
 * `tun p2p <port>`: share a local TCP port. Registers with a relay (or embeds
 * one for the LAN, host_session.ts), prints the join code and the browser
 * link, and serves every guest with its own connection whose streams dial
 * only 127.0.0.1:<port>.
 *
 * A guest's first signalling message says which data plane it uses: `quic`
 * (host_quic_guest.ts) or anything else (WebRTC, host_rtc.ts; a browser guest
 * may move on to WebTransport, host_browser.ts). The host serves all kinds at
 * once, WebRTC only when @roamhq/wrtc loads. This file keeps the guests: who
 * is admitted, refused, connected, and gone.
 */
import net from "node:net";
import process from "node:process";
import { formatJoinCode, mintSecret } from "../code/mod.ts";
import type { NatInfo, SignalData } from "../signal/mod.ts";
import { offerLoopbackCandidates, webrtcUnavailable } from "../rtc/mod.ts";
import { formatBytes } from "../cli/output.ts";
import { RELAY_MODE_TIMEOUT_MS, splitIceServers } from "./ice.ts";
import { type GuestStatus, removeStatus, writeStatus } from "./status.ts";
import { probeNatInfo } from "./nat.ts";
import { PeerAuth } from "./auth.ts";
import { muxCheck, peerAnswers } from "./liveness.ts";
import { AuditLog } from "./audit.ts";
import { HostQuic } from "./quic_host.ts";
import { type HostSession, openHostSession } from "./host_session.ts";
import {
  type GuestState,
  type HostContext,
  type HostOptions,
  linkOf,
  pathName,
} from "./host_guest.ts";
import { answerRtc, toRelayMode } from "./host_rtc.ts";
import { BrowserGuests } from "./host_browser.ts";
import { quicRelayMode, startQuicGuest } from "./host_quic_guest.ts";

export type { HostOptions } from "./host_guest.ts";

/** Failed authentications after which the host retires its join code. */
export const MAX_FAILED_ATTEMPTS = 3;

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
  let session: HostSession;
  try {
    session = await openHostSession({ relayUrl: options.relayUrl, token: options.token, out });
  } catch (err) {
    out.error((err as Error).message);
    return 1;
  }
  const { signal, name, relay, relayUrl, publicRelayUrl, webOrigin, devTls } = session;
  const guests = new Map<number, GuestState>();
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => finish = resolve);

  const servers = splitIceServers(session.iceServers);
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
    await session.close();
    out.error(`no data plane: ${noWebrtc}, and ${quic.unavailable()}`);
    return 1;
  }
  if (noWebrtc && options.transport !== "quic") {
    out.say(out.yellow(`note: ${noWebrtc}; serving QUIC guests only`));
  }
  quic.warm();
  let audit: AuditLog;
  try {
    audit = new AuditLog(options.auditLog, (m) => out.say(out.yellow(`warning: ${m}`)));
  } catch (err) {
    await session.close();
    out.error(`cannot open the audit log ${options.auditLog}: ${(err as Error).message}`);
    return 1;
  }
  // Our NAT's behaviour, told to every guest so it can skip a hopeless direct
  // attempt: the mapping as soon as it is known, then the whole report.
  let nat: NatInfo | null = null;
  const tellNat = (g: GuestState) => {
    if (nat && !g.closed) {
      signal.send({ t: "signal", peer: g.peer, epoch: 0, data: { kind: "nat", nat } });
    }
  };
  const natFound = (info: NatInfo) => {
    nat = info;
    for (const g of guests.values()) tellNat(g);
  };
  probeNatInfo(relayUrl, signal.welcome, natFound).then(natFound);
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
        : publicRelayUrl.includes("//127.0.0.1:")
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
      relay: publicRelayUrl,
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
    // A guest whose proof verified a moment ago, but not yet marked authed
    // (that waits for its attempt's promise), did know the code.
    const proved = g.authed || g.auth.proven;
    if (proved) {
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
    if (options.once && proved && reason !== "host stopped") {
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

  /** The guest's proof failed: wrong code, or the relay altered the SDP. */
  const failAuth = (g: GuestState, why: string) => {
    if (!dropGuest(g, "authentication failed")) return;
    reject(g.peer, g.from, `wrong join code, or the connection was tampered with (${why})`, true);
    publish();
  };

  /** What the code for each data plane may do with a guest. */
  const ctx: HostContext = {
    options,
    out,
    signal,
    guests,
    loopbackCandidates: offerLoopbackCandidates(relayUrl),
    send: (g, epoch, data) => signal.send({ t: "signal", peer: g.peer, epoch, data }),
    endGuest: (g, reason) => endGuest(g, reason),
    dropGuest: (g, reason) => dropGuest(g, reason),
    failAuth: (g, why) => failAuth(g, why),
    reject: (peer, from, reason) => reject(peer, from, reason),
    authed: (g) => {
      g.authed = true;
      g.setKeyed();
      if (options.once) onceTaken = true;
    },
    announce: (g) => announce(g),
  };
  const browsers = new BrowserGuests(ctx, !!relay);

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
        // Before anything else the socket brings (a "guest left" just behind).
        onfail: (_epoch, err) => failAuth(g, err.message),
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
    tellNat(g);
    out.emit({ event: "guest", guest: peer, from }, `guest ${peer}  joining    from ${from}`);
    publish();
  };

  const onSignal = (g: GuestState, epoch: number, data: SignalData) => {
    // The first message other than a NAT report says which data plane.
    if (!g.transport && data.kind !== "nat") {
      if (data.kind === "quic") {
        g.transport = "quic";
        startQuicGuest(ctx, quic, g, data);
        return;
      }
      g.transport = "webrtc";
      // A browser guest may still come over WebTransport without a DataChannel.
      if (noWebrtc && !(data.kind === "browser" && data.webtransport)) {
        dropGuest(g, noWebrtc);
        return reject(g.peer, g.from, `${noWebrtc}; join with --transport quic`);
      }
      if (!noWebrtc) g.rtc = answerRtc(ctx, servers, g);
    }
    switch (data.kind) {
      case "quic": // one offer per guest
      case "nat": // the guest decides relay mode
      case "reject":
      case "webtransport": // host to guest only
        return;
      case "browser":
        return browsers.hello(g, data);
      case "pake":
      case "confirm":
        try {
          g.auth.handle(epoch, data);
        } catch (err) {
          failAuth(g, (err as Error).message);
        }
        return;
      case "relay-mode":
        if (g.transport === "quic") return quicRelayMode(ctx, g, epoch, data.reason);
        return toRelayMode(ctx, servers, g, epoch, data.reason);
      default:
        if (epoch !== g.epoch || !g.rtc) return; // a late message of an attempt given up
        g.rtc.handleSignal(data).catch((err) => endGuest(g, `bad signalling: ${err.message}`));
    }
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
      if (!g) return;
      // A guest that is already connected peer to peer no longer needs the relay;
      // a QUIC guest in relay mode does.
      if (g.wt) return; // the browser's QUIC session ends with its tab
      const check = g.mux ? muxCheck(g.mux) : g.quic?.path?.path === "direct" ? g.quic.check : null;
      if (!check) return endGuest(g, msg.reason);
      // It may have left the relay because its machine or process is gone:
      // ask the guest itself rather than wait ~16 s for libwebrtc to notice.
      peerAnswers(check).then((alive) => {
        if (!alive) endGuest(g, `${msg.reason}, and did not answer through the tunnel`);
      });
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
  browsers.close();
  quic.close();
  removeStatus(name);
  await session.close();
  return exitCode;
}
