/**
 * End-to-end authentication of the two peers with the join code's secret part,
 * which never reaches the relay.
 *
 *   guest -> host   pake {sid, y}        CPace first message (lib/pake)
 *   host  -> guest  pake {y}             second message; both now share a key
 *   both            confirm {tag}        per connection attempt (epoch): a tag over
 *                                        both DTLS fingerprints, as each side saw
 *                                        them in the SDP it sent and received
 *
 * A wrong code gives different keys; a relay that swaps SDP fingerprints gives
 * different transcripts: either way the tags do not verify, and no tunnel byte
 * flows, because the mux is attached only after the peer's tag checks out.
 */
import { type PakeSession, sdpFingerprint, startPake } from "../pake/mod.ts";
import type { SignalData } from "../signal/mod.ts";

export class AuthError extends Error {
  override name = "AuthError";
}

export interface PeerAuthOptions {
  /** The guest starts the exchange (initiator); the host answers (responder). */
  role: "initiator" | "responder";
  /** The join code's secret part. */
  password: string;
  /** The session name, bound into the exchange. */
  sessionName: string;
  /** Send a signalling message to the other peer in the given epoch. */
  send: (epoch: number, data: SignalData) => void;
  /**
   * Called at once, in the same task, when an attempt's proof fails (a tag
   * that does not verify, or an SDP without a fingerprint). The promise from
   * {@link PeerAuth.bind} rejects too, but a few microtask hops later: the
   * signalling socket may dispatch its next message (the relay's "guest left")
   * in between, and the host must count a tampered attempt as such.
   */
  onfail?: (epoch: number, error: AuthError) => void;
}

const CONTEXT = "tun join code v1";

interface EpochState {
  fingerprints?: { initiator: string; responder: string };
  peerTag?: Uint8Array;
  sent: boolean;
  done: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  promise: Promise<void>;
}

export class PeerAuth {
  readonly #o: PeerAuthOptions;
  #pending: { message: Uint8Array; finish(peer: Uint8Array): PakeSession } | null = null;
  #session: PakeSession | null = null;
  #proven = false;
  readonly #epochs = new Map<number, EpochState>();

  constructor(options: PeerAuthOptions) {
    this.#o = options;
  }

  /** Guest: send the first PAKE message. */
  start(): void {
    if (this.#o.role !== "initiator") return;
    const sid = crypto.getRandomValues(new Uint8Array(16));
    const pending = startPake({
      role: "initiator",
      password: this.#o.password,
      sid,
      context: `${CONTEXT} ${this.#o.sessionName}`,
    });
    this.#pending = pending;
    this.#o.send(0, { kind: "pake", sid, y: pending.message });
  }

  /**
   * A key for another channel between the same two peers (the browser guest's
   * WebTransport session), derived from the PAKE key. Throws until a peer's
   * confirmation tag has verified (some epoch's {@link bind} resolved).
   */
  deriveKey(label: string, length: number): Uint8Array {
    if (!this.#session) throw new AuthError("no key yet");
    return this.#session.deriveKey(label, length);
  }

  /** Whether the PAKE key is established. */
  get keyed(): boolean {
    return this.#session !== null;
  }

  /**
   * Whether the peer has proved the code: some attempt's confirmation tag
   * verified. Known in the same task as the check (see `onfail`).
   */
  get proven(): boolean {
    return this.#proven;
  }

  /** Feed a `pake` or `confirm` message from the peer. Throws AuthError if it is bad. */
  handle(epoch: number, data: SignalData): void {
    if (data.kind === "pake") {
      if (this.#session) throw new AuthError("a second key exchange in one session");
      try {
        if (this.#o.role === "responder") {
          if (!data.sid) throw new AuthError("the guest's key exchange has no session id");
          const pake = startPake({
            role: "responder",
            password: this.#o.password,
            sid: data.sid,
            context: `${CONTEXT} ${this.#o.sessionName}`,
          });
          this.#session = pake.finish(data.y);
          this.#o.send(0, { kind: "pake", sid: null, y: pake.message });
        } else {
          if (!this.#pending) throw new AuthError("key exchange answer before our offer");
          this.#session = this.#pending.finish(data.y);
        }
      } catch (err) {
        throw err instanceof AuthError
          ? err
          : new AuthError(`bad key exchange: ${(err as Error).message}`);
      }
      for (const [e, st] of this.#epochs) this.#progress(e, st);
    } else if (data.kind === "confirm") {
      const st = this.#epoch(epoch);
      if (st.peerTag) throw new AuthError("a second confirmation for one attempt");
      st.peerTag = data.tag;
      this.#progress(epoch, st);
    }
  }

  /**
   * Bind an attempt's SDPs: resolves once the peer's confirmation for `epoch`
   * verifies; rejects with AuthError when it does not.
   */
  bind(epoch: number, descriptions: { local: string; remote: string }): Promise<void> {
    const local = sdpFingerprint(descriptions.local);
    const remote = sdpFingerprint(descriptions.remote);
    if (!local || !remote) {
      const st = this.#epoch(epoch);
      this.#fail(epoch, st, new AuthError("a session description has no DTLS fingerprint"));
      return st.promise;
    }
    return this.bindFingerprints(epoch, { local, remote });
  }

  /**
   * Bind an attempt's two certificate fingerprints ("SHA-256 AB:CD:...": ours
   * and the peer's, e.g. the QUIC data plane's self-signed certificates, see
   * lib/quic/proof.ts): resolves once the peer's confirmation for `epoch`
   * verifies over the same two; rejects with AuthError when it does not.
   */
  bindFingerprints(epoch: number, fingerprints: { local: string; remote: string }): Promise<void> {
    const st = this.#epoch(epoch);
    const { local, remote } = fingerprints;
    st.fingerprints = this.#o.role === "initiator"
      ? { initiator: local, responder: remote }
      : { initiator: remote, responder: local };
    this.#progress(epoch, st);
    return st.promise;
  }

  #epoch(epoch: number): EpochState {
    let st = this.#epochs.get(epoch);
    if (!st) {
      let resolve: () => void = () => {};
      let reject: (e: Error) => void = () => {};
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {});
      st = { sent: false, done: false, resolve, reject, promise };
      this.#epochs.set(epoch, st);
    }
    return st;
  }

  #transcript(fp: { initiator: string; responder: string }) {
    // Each attempt (epoch) has new peer connections and so new certificates:
    // a tag of one attempt cannot verify for another.
    return { initiatorFingerprint: fp.initiator, responderFingerprint: fp.responder };
  }

  #progress(epoch: number, st: EpochState) {
    if (st.done || !this.#session || !st.fingerprints) return;
    const transcript = this.#transcript(st.fingerprints);
    if (!st.sent) {
      st.sent = true;
      this.#o.send(epoch, { kind: "confirm", tag: this.#session.confirm(transcript) });
    }
    if (!st.peerTag) return;
    st.done = true;
    if (this.#session.verify(st.peerTag, transcript)) {
      this.#proven = true;
      st.resolve();
    } else {
      this.#fail(epoch, st, new AuthError("the peer's confirmation does not match"));
    }
  }

  #fail(epoch: number, st: EpochState, error: AuthError) {
    st.done = true;
    st.reject(error);
    this.#o.onfail?.(epoch, error);
  }
}
