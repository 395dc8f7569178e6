/**
 * The control stream of a peer-to-peer QUIC connection (proof.ts has the
 * wire): the dialling side proves itself on the first stream, the listening
 * side accepts, and the guest selects the one connection it will use.
 *
 *     dialler  -> listener   proof (PROOF_LENGTH bytes)
 *     listener -> dialler    ACCEPTED
 *     guest    -> host       SELECT             (on the chosen connection only)
 *     host     -> guest      SELECTED
 */
import type { QuicConnLike, QuicStreamLike } from "../runtime/mod.ts";
import { ACCEPTED, PROOF_LENGTH, SELECT } from "./proof.ts";
import { PrefixReader, withTimeout } from "./stream_reader.ts";

/** The host's answer to SELECT. */
export const SELECTED = 0x03;

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

/** Refuse a stream: reset both directions. */
export function refuseStream(stream: QuicStreamLike): void {
  stream.readable.cancel("refused").catch(() => {});
  stream.writable.abort("refused").catch(() => {});
}
