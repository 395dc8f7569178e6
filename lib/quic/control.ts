/**
 * The control stream of a peer-to-peer QUIC connection (proof.ts has the
 * wire): the dialling side proves itself on the first stream, the listening
 * side accepts, and the guest selects the one connection it will use.
 *
 *     dialler  -> listener   proof (PROOF_LENGTH bytes)
 *     listener -> dialler    ACCEPTED
 *     guest    -> host       SELECT             (on the chosen connection only)
 *     host     -> guest      SELECTED
 *     either   -> other      PING, answered PONG (after the selection; round trips)
 */
import type { QuicConnLike, QuicStreamLike } from "../runtime/mod.ts";
import { ACCEPTED, PROOF_LENGTH, SELECT } from "./proof.ts";
import { PrefixReader, withTimeout } from "./stream_reader.ts";

/** The host's answer to SELECT. */
export const SELECTED = 0x03;
export const PING = 0x04;
export const PONG = 0x05;

/** How long the other side may take to answer on the control stream. */
export const CONTROL_TIMEOUT_MS = 10_000;

/** One end of a control stream. */
export interface Control {
  r: PrefixReader;
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

/**
 * Dialling side: open the control stream, send `proof`, and wait for the
 * listener to accept it. Resolves with the stream and the round trip in ms.
 */
export async function prove(
  conn: QuicConnLike,
  proof: Uint8Array,
): Promise<{ control: Control; rttMs: number }> {
  const stream = await conn.createBidirectionalStream();
  const control = { r: new PrefixReader(stream.readable), writer: stream.writable.getWriter() };
  const t0 = performance.now();
  await control.writer.write(proof);
  const answer = await withTimeout(control.r.byte(), CONTROL_TIMEOUT_MS, "proof");
  if (answer !== ACCEPTED) throw new Error("the other peer refused our proof");
  return { control, rttMs: performance.now() - t0 };
}

/** Listening side: the proof on a connection's first stream (untrusted bytes: check it). */
export async function readProof(
  first: QuicStreamLike,
): Promise<{ control: Control; proof: Uint8Array }> {
  const control = { r: new PrefixReader(first.readable), writer: first.writable.getWriter() };
  const proof = await withTimeout(control.r.read(PROOF_LENGTH), CONTROL_TIMEOUT_MS, "proof");
  if (!proof) throw new Error("the control stream ended before its proof");
  return { control, proof };
}

/** Listening side: the proof checked out. */
export async function accept(control: Control): Promise<void> {
  await control.writer.write(new Uint8Array([ACCEPTED]));
}

/** Guest: use this connection. Resolves with the round trip once the host acknowledged. */
export async function select(control: Control): Promise<number> {
  const t0 = performance.now();
  await control.writer.write(new Uint8Array([SELECT]));
  const answer = await withTimeout(control.r.byte(), CONTROL_TIMEOUT_MS, "select");
  if (answer !== SELECTED) throw new Error("the host did not acknowledge the selection");
  return performance.now() - t0;
}

/**
 * Host: resolves when the guest selects this connection (and acknowledges it),
 * rejects if the control stream ends or says anything else.
 */
export async function selected(control: Control): Promise<void> {
  const b = await control.r.byte();
  if (b !== SELECT) throw new Error("the control stream ended without a selection");
  await control.writer.write(new Uint8Array([SELECTED]));
}

/**
 * After the selection both ends answer PINGs on the control stream and time
 * their own. The first round trips on a fresh stream run slow (code not yet
 * warm, and QUIC ACK delays), so {@link rtt} takes the least of a few.
 */
export class Pinger {
  readonly #control: Control;
  #pong: (() => void) | null = null;

  constructor(control: Control) {
    this.#control = control;
    (async () => {
      for (;;) {
        const b = await control.r.byte();
        if (b === null) return;
        if (b === PING) await control.writer.write(new Uint8Array([PONG]));
        else if (b === PONG) this.#pong?.();
        else throw new Error(`unexpected control byte ${b}`);
      }
    })().catch(() => {}).finally(() => this.#pong?.());
  }

  /** One round trip in ms (Infinity if the stream ends first). */
  async ping(): Promise<number> {
    const t0 = performance.now();
    let ok = false;
    const pong = new Promise<void>((resolve) => {
      this.#pong = () => {
        ok = true;
        resolve();
      };
    });
    await this.#control.writer.write(new Uint8Array([PING]));
    await withTimeout(pong, CONTROL_TIMEOUT_MS, "ping");
    this.#pong = null;
    return ok ? performance.now() - t0 : Infinity;
  }

  /** The least of `n` round trips, ms; null when none came back. */
  async rtt(n = 5): Promise<number | null> {
    let best = Infinity;
    try {
      for (let i = 0; i < n; i++) best = Math.min(best, await this.ping());
    } catch { /* the connection went */ }
    return Number.isFinite(best) ? best : null;
  }
}

/** Refuse a stream: reset both directions. */
export function refuseStream(stream: QuicStreamLike): void {
  stream.readable.cancel("refused").catch(() => {});
  stream.writable.abort("refused").catch(() => {});
}
