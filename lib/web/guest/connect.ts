/**
 * The browser guest's way to the host: the same signalling, PAKE and
 * DataChannel as `tun p2p-join` (lib/peer, lib/rtc, lib/tunnel), plus
 * WebTransport straight to the host when the host offers it and is reachable.
 *
 * Both are tried at once. WebTransport is preferred: when the DataChannel
 * opens first while a WebTransport attempt is still under way, it waits up to
 * WT_GRACE_MS for it. With no direct DataChannel within the p2p timeout (or
 * ICE failing), the guest asks for relay mode (TURN), as the CLI guest does.
 */
import { HOST_LEFT, SignalClient, type SignalData } from "../../signal/mod.ts";
import { PeerAuth } from "../../peer/auth.ts";
import type { DataChannelAdapter, RtcPeer } from "../../rtc/mod.ts";
import { offerLoopbackCandidates } from "../../rtc/candidate.ts";
import { Mux } from "../../tunnel/mux.ts";
import { type ByteStream, tunnelStreamToWeb } from "../../tunnel/web_streams.ts";
import { splitIceServers } from "../../peer/ice.ts";
import { GuestAttempts } from "../../peer/attempts.ts";
import { muxCheck, PEER_CHECK_MS, peerAnswers, type PeerCheck } from "../../peer/liveness.ts";
import { probeBrowserNat } from "./nat.ts";
import {
  checkOfferTag,
  clientProof,
  PROOF_ACCEPTED,
  WEBTRANSPORT_KEY_LABEL,
} from "../../peer/webtransport_auth.ts";

export type PathKind = "webtransport" | "direct" | "relay";

/** An open way to the host's shared port: one byte stream per TCP connection. */
export interface Transport {
  path: PathKind;
  /** Human detail: the candidate pair, or the WebTransport URL. */
  detail: string;
  rttMs: number | null;
  open(): Promise<ByteStream>;
  /** Resolves with a reason when the transport is gone for good. */
  closed: Promise<string>;
  /** End the transport; `closed` resolves with `why` if it has not already. */
  close(why?: string): void;
  /**
   * How to ask the host whether it is there, when the relay's connection ends
   * (lib/peer/liveness.ts). Absent for WebTransport, which QUIC ends by itself
   * when the host goes.
   */
  check?: PeerCheck;
}

export interface ConnectOptions {
  /** The relay's origin (the page's own). */
  relayUrl: string;
  name: string;
  secret: string;
  p2pTimeoutMs?: number;
  /** Progress lines for the page's status bar. */
  onstatus?: (text: string) => void;
}

/** How long an open DataChannel waits for a WebTransport attempt in progress. */
const WT_GRACE_MS = 2000;
/** How long one WebTransport URL may take to connect. */
const WT_CONNECT_MS = 4000;

export async function connectToHost(o: ConnectOptions): Promise<Transport> {
  const status = o.onstatus ?? (() => {});
  const p2pTimeoutMs = o.p2pTimeoutMs ?? 8000;
  status(`joining ${o.name} ...`);
  const sig = await SignalClient.connect({ relayUrl: o.relayUrl });
  sig.send({ t: "join", name: o.name });
  const joined = await sig.next(["joined"]).catch((err: Error) => {
    sig.close();
    throw new Error(`cannot join ${o.name}: ${err.message}`);
  });
  if (joined.t !== "joined") throw new Error("unexpected reply from the relay");
  const self = joined.peer;
  const { stun, turn } = splitIceServers(joined.ice);

  return new Promise<Transport>((resolve, reject) => {
    let done = false;
    /** Settles with the WebTransport attempt's result, or null if the host offers none. */
    let wtDone: (t: Transport | null) => void = () => {};
    const wtResult = new Promise<Transport | null>((r) => wtDone = r);
    /** The host said whether it offers WebTransport (null: not yet). */
    let hostOffers: boolean | null = null;
    let rtcReady: Transport | null = null;
    const send = (e: number, data: SignalData) =>
      sig.send({ t: "signal", peer: 0, epoch: e, data });
    const auth = new PeerAuth({
      role: "initiator",
      password: o.secret,
      sessionName: o.name,
      send,
    });
    /** Some epoch's confirmation verified: the PAKE key may be used. */
    let keyed: () => void = () => {};
    const keyReady = new Promise<void>((r) => keyed = r);

    const fail = (message: string) => {
      if (done) return;
      done = true;
      attempts.close();
      sig.close();
      reject(new Error(message));
    };
    let winner: Transport | null = null;
    const win = (t: Transport) => {
      if (done) {
        if (t !== winner) t.close();
        return;
      }
      done = true;
      winner = t;
      attempts.settle();
      if (t.path === "webtransport") attempts.rtc?.close();
      // The signalling stays open, as the CLI guest's does: the host may not
      // have seen its side of the DataChannel open yet, and a guest leaving the
      // relay before that counts as gone. Its end may mean the host's end:
      // then the host does not answer a ping either (as the CLI guest checks).
      const check = t.check;
      sig.onclose = check
        ? (reason) => {
          const lost = () => console.info(`tun: relay connection lost (${reason})`);
          // As the CLI guest: only the relay's word that the host left, or a
          // path through the relay's TURN, makes the page ask the host.
          if (reason !== HOST_LEFT && t.path !== "relay") return lost();
          peerAnswers(check).then((alive) => {
            if (alive) return lost();
            t.close(
              `the relay closed the session (${reason}) and the host did not answer within ${
                PEER_CHECK_MS / 1000
              } s`,
            );
          });
        }
        : null;
      resolve(t);
    };

    /** A DataChannel opened: use it, unless a WebTransport session is on its way. */
    const channelOpen = async (peer: RtcPeer, channel: DataChannelAdapter, mode: string) => {
      attempts.settle();
      const mux = new Mux(channel);
      const info = await peer.path().catch(() => null);
      const path: PathKind = info?.path ?? (mode === "relay" ? "relay" : "direct");
      let closed: (why: string) => void = () => {};
      const t: Transport = {
        path,
        detail: info ? `${info.local} ↔ ${info.remote}` : mode,
        rttMs: info?.rttMs ?? null,
        open: () => Promise.resolve(tunnelStreamToWeb(mux.openStream())),
        closed: new Promise((r) => closed = r),
        close: (why = "guest left") => {
          mux.close(why);
          peer.close();
        },
        check: muxCheck(mux),
      };
      mux.onclose = (why) => closed(why);
      rtcReady = t;
      if (hostOffers === false) return win(t);
      status("connected over WebRTC; waiting briefly for WebTransport ...");
      const wt = await Promise.race([
        wtResult,
        new Promise<null>((r) => setTimeout(() => r(null), WT_GRACE_MS)),
      ]);
      if (!wt) win(t);
    };

    const attempts = new GuestAttempts({
      auth,
      stun,
      turn,
      p2pTimeoutMs,
      loopbackCandidates: offerLoopbackCandidates(o.relayUrl),
      send,
      onopen: (peer, channel, mode) => {
        if (!done) channelOpen(peer, channel, mode);
      },
      onfatal: fail,
      onrelay: (reason) => status(`${reason}: trying through the relay ...`),
      onauthed: keyed,
    });

    const tryWebTransport = async (urls: string[], certHash: Uint8Array, key: Uint8Array) => {
      status("trying WebTransport to the host ...");
      const t = await firstOf(urls.map((url) => openWebTransport(url, certHash, key, self)));
      if (t) win(t);
      else if (rtcReady) win(rtcReady);
      return t;
    };

    sig.onmessage = (msg) => {
      if (msg.t !== "signal" || done) return;
      const data = msg.data;
      if (data.kind === "reject") return fail(`the host refused: ${data.reason}`);
      if (data.kind === "nat") return attempts.nat("host", data.nat);
      if (data.kind === "pake" || data.kind === "confirm") {
        try {
          auth.handle(msg.epoch, data);
        } catch (err) {
          fail(`authentication failed: ${(err as Error).message}`);
        }
        return;
      }
      if (data.kind === "browser") {
        hostOffers = data.webtransport;
        if (!hostOffers) wtDone(null);
        return;
      }
      if (data.kind === "webtransport") {
        const offer = data;
        keyReady.then(() => {
          const key = auth.deriveKey(WEBTRANSPORT_KEY_LABEL, 32);
          if (!checkOfferTag(key, offer.cert_hash, offer.urls, offer.tag)) {
            fail("the host's WebTransport offer does not verify: the relay tampered with it");
            return null;
          }
          return tryWebTransport(offer.urls, offer.cert_hash, key);
        }).then(wtDone, () => wtDone(null));
        return;
      }
      attempts.handleSignal(msg.epoch, data);
    };
    sig.onclose = (reason) => fail(`the relay closed the session: ${reason}`);

    // As the CLI guest does: with both NATs known, skip a hopeless direct attempt.
    // The relay's STUN host as it named itself in the ICE servers (behind a TLS
    // proxy, the page's origin may be another machine).
    const stunHost = /^stuns?:(\[[^\]]+\]|[^:]+)/.exec(stun[0]?.urls[0] ?? "")?.[1] ??
      new URL(o.relayUrl).hostname;
    probeBrowserNat(stunHost, sig.welcome.stun_port, sig.welcome.stun_alt_port).then(
      (nat) => attempts.nat("own", nat),
      () => {},
    );

    send(0, { kind: "browser", webtransport: typeof WebTransport === "function" });
    auth.start();
    attempts.start();
    status("connecting peer to peer ...");
  });
}

/** The first attempt that gives a transport, or null if none does. */
function firstOf(attempts: Promise<Transport | null>[]): Promise<Transport | null> {
  return new Promise((resolve) => {
    let left = attempts.length;
    if (left === 0) resolve(null);
    for (const a of attempts) {
      a.then((t) => {
        if (t) resolve(t);
        else if (--left === 0) resolve(null);
      });
    }
  });
}

/** One WebTransport session to the host, proved with the PAKE key; null if it fails. */
async function openWebTransport(
  url: string,
  certHash: Uint8Array,
  key: Uint8Array,
  peer: number,
): Promise<Transport | null> {
  let wt: WebTransport;
  try {
    wt = new WebTransport(url, {
      serverCertificateHashes: [{ algorithm: "sha-256", value: certHash as BufferSource }],
    });
  } catch {
    return null;
  }
  wt.closed.catch(() => {});
  const timeout = setTimeout(() => wt.close(), WT_CONNECT_MS);
  try {
    const started = performance.now();
    await wt.ready.catch((e) => {
      throw new Error(`handshake: ${e.message}`);
    });
    const control = await wt.createBidirectionalStream();
    const writer = control.writable.getWriter();
    await writer.write(clientProof(key, peer));
    const reader = control.readable.getReader();
    const { value } = await reader.read();
    if (!value || value[0] !== PROOF_ACCEPTED) throw new Error("refused");
    clearTimeout(timeout);
    const rttMs = Math.round((performance.now() - started) / 2 * 10) / 10;
    return {
      path: "webtransport",
      detail: url,
      rttMs,
      open: () => wt.createBidirectionalStream(),
      closed: wt.closed.then(
        (info) => `WebTransport closed${info?.reason ? `: ${info.reason}` : ""}`,
        (err) => `WebTransport failed: ${(err as Error).message}`,
      ),
      close: () => wt.close(),
    };
  } catch (err) {
    console.info(`tun: WebTransport to ${url} did not connect: ${(err as Error).message ?? err}`);
    clearTimeout(timeout);
    try {
      wt.close();
    } catch { /* never connected */ }
    return null;
  }
}
