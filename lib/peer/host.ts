/**
 * `tun p2p <port>`: share a local TCP port. Registers with a relay (or embeds
 * one for the LAN), prints the join code, and answers every guest with its own
 * WebRTC peer connection whose streams dial only 127.0.0.1:<port>.
 */
import net from "node:net";
import process from "node:process";
import { formatJoinCode, mintSecret } from "../code/mod.ts";
import { type IceServer, SignalClient, type SignalData } from "../signal/mod.ts";
import { type PathInfo, RtcPeer } from "../rtc/mod.ts";
import { Mux, serveHostStreams } from "../tunnel/mod.ts";
import { discoveryPort, startResponder } from "../discovery/mod.ts";
import { type Relay, startRelay } from "../../relay/mod.ts";
import { formatBytes, type Output } from "../cli/output.ts";
import { lanAddress, stunUrl } from "./relay_url.ts";

export interface HostOptions {
  /** The local TCP port to share (dialled on 127.0.0.1 only). */
  port: number;
  /** Relay base URL; undefined embeds a relay in this process (LAN mode). */
  relayUrl?: string;
  /** How long a guest may take to open a direct DataChannel. Default 8 s. */
  p2pTimeoutMs: number;
  /** The command name printed in the join line. Default "tun". */
  command?: string;
  out: Output;
}

interface GuestState {
  peer: number;
  rtc: RtcPeer;
  mux?: Mux;
  path?: PathInfo;
  from: string;
  timer?: ReturnType<typeof setTimeout>;
  closed: boolean;
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
  if (!relayUrl) {
    relay = await startRelay({ hostname: "0.0.0.0", port: 0, stunPort: 0 });
    relayUrl = `http://127.0.0.1:${relay.port}`;
    publicRelayUrl = `http://${lanAddress()}:${relay.port}`;
    const sessions = relay.sessions;
    responder = await startResponder({
      port: discoveryPort(process.env),
      relayPort: relay.port,
      hosts: (name) => sessions.has(name),
    });
  }

  let signal: SignalClient;
  try {
    signal = await SignalClient.connect({ relayUrl });
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
  } catch (err) {
    signal.close();
    responder?.close();
    await relay?.close();
    out.error(`relay refused to host: ${(err as Error).message}`);
    return 1;
  }
  const code = formatJoinCode({ name, secret: mintSecret() });
  const cmd = options.command ?? "tun";
  const join = `${cmd} p2p-join ${code} --relay ${publicRelayUrl}`;
  out.emit(
    {
      event: "code",
      code,
      join,
      port: options.port,
      relay: publicRelayUrl,
      embedded_relay: !!relay,
    },
    [
      `${out.bold("tun p2p")}  sharing 127.0.0.1:${options.port}`,
      `  code   ${out.bold(code)}`,
      `  join   ${join}`,
      !relay
        ? `  relay  ${publicRelayUrl}`
        : publicRelayUrl!.includes("//127.0.0.1:")
        ? `  relay  embedded, this machine only (no LAN interface found)`
        : `  relay  embedded, LAN only; guests on this LAN can omit --relay`,
    ].join("\n"),
  );

  const endGuest = (g: GuestState, reason: string) => {
    if (g.closed) return;
    g.closed = true;
    clearTimeout(g.timer);
    guests.delete(g.peer);
    const sent = g.mux?.bytesSent ?? 0;
    const received = g.mux?.bytesReceived ?? 0;
    g.mux?.close(reason);
    g.rtc.close();
    out.emit(
      { event: "guest-left", guest: g.peer, reason, bytes_sent: sent, bytes_received: received },
      `guest ${g.peer}  left       ${reason}  ${
        out.dim(`sent ${formatBytes(sent)}, received ${formatBytes(received)}`)
      }`,
    );
  };

  const startGuest = (peer: number, from: string) => {
    const rtc = new RtcPeer({
      role: "answerer",
      iceServers,
      sendSignal: (data: SignalData) => signal.send({ t: "signal", peer, data }),
    });
    const g: GuestState = { peer, rtc, from, closed: false };
    guests.set(peer, g);
    out.emit({ event: "guest", guest: peer, from }, `guest ${peer}  joining    from ${from}`);
    g.timer = setTimeout(
      () => endGuest(g, `no direct path within ${options.p2pTimeoutMs / 1000} s`),
      options.p2pTimeoutMs,
    );
    rtc.onfailed = (reason) => endGuest(g, reason);
    rtc.opened.then(async (channel) => {
      if (g.closed) return;
      clearTimeout(g.timer);
      const mux = new Mux(channel);
      g.mux = mux;
      serveHostStreams(mux, { targetHost: "127.0.0.1", targetPort: options.port });
      mux.onclose = () => endGuest(g, "guest disconnected");
      const path = await rtc.path().catch(() => null);
      g.path = path ?? undefined;
      const rtt = path?.rttMs ?? await mux.ping().catch(() => null);
      out.emit(
        {
          event: "path",
          guest: peer,
          path: path?.path ?? "direct",
          local_candidate: path?.local,
          remote_candidate: path?.remote,
          remote_address: path?.remoteAddress,
          rtt_ms: rtt === null ? null : Math.round(rtt * 10) / 10,
        },
        `guest ${peer}  connected  ${out.green(path?.path ?? "direct")} (${path?.local ?? "?"} ↔ ${
          path?.remote ?? "?"
        })  rtt ${rtt === null ? "?" : rtt.toFixed(1)} ms`,
      );
    }, () => {/* failure is reported through onfailed / timer */});
  };

  probeTarget(options.port).then((ok) => {
    if (!ok) {
      out.say(out.yellow(`note: nothing is listening on 127.0.0.1:${options.port} yet`));
    }
  });

  signal.onmessage = (msg) => {
    if (msg.t === "guest") {
      startGuest(msg.peer, `${msg.addr.address}:${msg.addr.port}`);
    } else if (msg.t === "signal") {
      const g = guests.get(msg.peer);
      g?.rtc.handleSignal(msg.data).catch((err) => endGuest(g, `bad signalling: ${err.message}`));
    } else if (msg.t === "bye") {
      const g = guests.get(msg.peer);
      // A guest that is already connected peer to peer no longer needs the relay.
      if (g && !g.mux) endGuest(g, msg.reason);
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

  const stop = () => finish(0);
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const exitCode = await done;
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  for (const g of [...guests.values()]) endGuest(g, "host stopped");
  signal.close();
  responder?.close();
  await relay?.close();
  return exitCode;
}
