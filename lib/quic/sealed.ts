/**
 * The end-to-end layer of a tunnel stream that goes through the relay's QUIC
 * splice (relay mode). The relay's QUIC terminates at the relay, so each
 * stream is sealed again between the peers, with keys from the join code's
 * PAKE: the relay forwards records it can neither read nor change, drop,
 * reorder or cut short without the receiving peer noticing.
 *
 * Per stream (opened by the guest):
 *
 *     guest -> host   stream number (8 bytes, big-endian), in clear
 *     guest -> host   record 0: empty, no FIN (the opening record)
 *     both ways       record*, the last one with FIN
 *
 *     record          header (4 bytes, big-endian u32)   also the GCM AAD
 *                       bit 31     FIN: the sender's last record
 *                       bits 0-30  plaintext length, 0..MAX_RECORD_PLAINTEXT
 *                     ciphertext (length bytes) | GCM tag (16 bytes)
 *
 * Keys: HKDF-SHA256(ikm = the PAKE-derived base key, salt = the stream
 * number's 8 bytes, info = "tun quic seal v1 guest->host" or "... host->guest"),
 * one AES-256-GCM key per stream and direction. The guest numbers its streams
 * 0, 1, 2, ... within one join; the base key is new with every join. Nonce: the
 * record's index in its direction, as a 96-bit big-endian number; with a key
 * per stream and direction, no (key, nonce) pair repeats (NIST SP 800-38D
 * §8.2.1, deterministic IVs).
 *
 * The host checks the opening record before it dials the shared port, so
 * bytes the relay makes up never reach the app, not even as an empty
 * connection; and it takes each stream number once (ReplayWindow), so the
 * relay cannot replay a recorded stream either (its keys would be the same).
 *
 * A stream whose bytes end without a FIN record was cut short: its reader
 * errors, so the TCP connection behind it is reset rather than ended cleanly.
 * The plaintext ends at the FIN record; anything after it is read and dropped.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { ByteStream } from "../tunnel/web_streams.ts";

/** Bytes of the stream number that starts a stream. */
export const STREAM_ID_LENGTH = 8;
export const HEADER_LENGTH = 4;
export const TAG_LENGTH = 16;
/** Largest plaintext in one record; larger writes are split. */
export const MAX_RECORD_PLAINTEXT = 64 * 1024;
/** Base keys are this long (a PAKE deriveKey length). */
export const BASE_KEY_LENGTH = 32;

const FIN_BIT = 0x8000_0000;
const EMPTY = new Uint8Array(0);

/** A record or key that is not what the protocol allows; `field` names the part. */
export class SealError extends Error {
  override name = "SealError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Which peer a stream end belongs to: the guest opens streams, the host answers. */
export type SealRole = "guest" | "host";

/** One stream's two AES-GCM keys, from one side's point of view. */
export interface StreamKeys {
  send: CryptoKey;
  receive: CryptoKey;
}

export function encodeHeader(length: number, fin: boolean): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORD_PLAINTEXT) {
    throw new SealError("length", `record length ${length} outside 0..${MAX_RECORD_PLAINTEXT}`);
  }
  const header = new Uint8Array(HEADER_LENGTH);
  new DataView(header.buffer).setUint32(0, (fin ? FIN_BIT : 0) + length);
  return header;
}

/** Untrusted bytes enter here: the length is checked before anything is allocated for it. */
export function decodeHeader(header: Uint8Array): { length: number; fin: boolean } {
  if (header.byteLength !== HEADER_LENGTH) {
    throw new SealError("header", `record header must be ${HEADER_LENGTH} bytes`);
  }
  const word = new DataView(header.buffer, header.byteOffset, HEADER_LENGTH).getUint32(0);
  const length = word & 0x7fff_ffff;
  if (length > MAX_RECORD_PLAINTEXT) {
    throw new SealError("length", `record length ${length} above ${MAX_RECORD_PLAINTEXT}`);
  }
  return { length, fin: (word & FIN_BIT) !== 0 };
}

/** The 96-bit nonce of record number `index`. */
function nonce(index: number): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(4, Math.floor(index / 2 ** 32));
  view.setUint32(8, index >>> 0);
  return iv;
}

/** The bytes that start stream number `id`. */
export function encodeStreamId(id: number): Uint8Array {
  if (!Number.isSafeInteger(id) || id < 0) throw new SealError("stream", `bad stream number ${id}`);
  const out = new Uint8Array(STREAM_ID_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(id / 2 ** 32));
  view.setUint32(4, id >>> 0);
  return out;
}

/** Untrusted bytes enter here. The stream number, or a SealError beyond 2^53 - 1. */
export function decodeStreamId(bytes: Uint8Array): number {
  if (bytes.byteLength !== STREAM_ID_LENGTH) {
    throw new SealError("stream", `a stream number is ${STREAM_ID_LENGTH} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, STREAM_ID_LENGTH);
  const high = view.getUint32(0);
  if (high >= 2 ** 21) throw new SealError("stream", "stream number out of range");
  return high * 2 ** 32 + view.getUint32(4);
}

/** This side's keys for stream number `id`, from the PAKE-derived `base` key. */
export async function streamKeys(
  base: Uint8Array,
  id: number,
  role: SealRole,
): Promise<StreamKeys> {
  if (base.byteLength !== BASE_KEY_LENGTH) {
    throw new SealError("key", `base key must be ${BASE_KEY_LENGTH} bytes`);
  }
  const salt = encodeStreamId(id);
  const key = (direction: string) =>
    crypto.subtle.importKey(
      "raw",
      hkdf(sha256, base, salt, utf8ToBytes(`tun quic seal v1 ${direction}`), 32) as Uint8Array<
        ArrayBuffer
      >,
      "AES-GCM",
      false,
      ["encrypt", "decrypt"],
    );
  const [g2h, h2g] = await Promise.all([key("guest->host"), key("host->guest")]);
  return role === "guest" ? { send: g2h, receive: h2g } : { send: h2g, receive: g2h };
}

/** Record number `index`: header, then ciphertext and tag. */
export async function sealRecord(
  key: CryptoKey,
  index: number,
  plaintext: Uint8Array,
  fin: boolean,
): Promise<Uint8Array> {
  const header = encodeHeader(plaintext.byteLength, fin);
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce(index), additionalData: header as Uint8Array<ArrayBuffer> },
    key,
    plaintext as Uint8Array<ArrayBuffer>,
  );
  const record = new Uint8Array(HEADER_LENGTH + sealed.byteLength);
  record.set(header);
  record.set(new Uint8Array(sealed), HEADER_LENGTH);
  return record;
}

/**
 * Untrusted bytes enter here. The plaintext of record number `index`, or a
 * SealError when the tag does not verify (altered, reordered, replayed, or
 * sealed under another key).
 */
export async function openRecord(
  key: CryptoKey,
  index: number,
  header: Uint8Array,
  body: Uint8Array,
): Promise<Uint8Array> {
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce(index), additionalData: header as Uint8Array<ArrayBuffer> },
        key,
        body as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    throw new SealError("tag", `record ${index} failed authentication`);
  }
}

/** Bytes received but not yet parsed, kept as the chunks they came in. */
class ByteQueue {
  #chunks: Uint8Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.byteLength;
  }

  /** The first `n` bytes, removed from the queue (caller checked `length`). */
  take(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.byteLength >= n) {
      this.#length -= n;
      if (first.byteLength === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0];
      const part = Math.min(chunk.byteLength, n - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      if (part === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    this.#length -= n;
    return out;
  }
}

/**
 * Splits a byte stream into records as their bytes arrive. Untrusted bytes
 * enter here; a header announcing more than MAX_RECORD_PLAINTEXT throws
 * before its body is waited for.
 */
export class RecordReader {
  readonly #queue = new ByteQueue();
  #header: Uint8Array | null = null;
  #length = 0;
  #fin = false;

  push(chunk: Uint8Array): void {
    this.#queue.push(chunk);
  }

  /** Bytes pushed and not yet returned in a record. */
  get buffered(): number {
    return this.#queue.length + (this.#header ? HEADER_LENGTH : 0);
  }

  /** The next whole record, or null until its bytes are all here. */
  next(): { header: Uint8Array; body: Uint8Array; fin: boolean } | null {
    if (!this.#header) {
      if (this.#queue.length < HEADER_LENGTH) return null;
      const header = this.#queue.take(HEADER_LENGTH).slice();
      const { length, fin } = decodeHeader(header);
      this.#header = header;
      this.#length = length;
      this.#fin = fin;
    }
    const size = this.#length + TAG_LENGTH;
    if (this.#queue.length < size) return null;
    const record = { header: this.#header, body: this.#queue.take(size), fin: this.#fin };
    this.#header = null;
    return record;
  }
}

/**
 * Guest: start a sealed stream on `inner` (after its stream number): the
 * opening record goes out at once, then writes are sealed into records and
 * closing sends the FIN record; the readable yields the host's records and
 * errors (SealError) on a bad one or when `inner` ends without a FIN record.
 */
export async function openSealed(inner: ByteStream, keys: StreamKeys): Promise<ByteStream> {
  const writer = inner.writable.getWriter();
  await writer.write(await sealRecord(keys.send, 0, EMPTY, false));
  writer.releaseLock();
  return {
    readable: openedReadable(new Opener(inner.readable, keys.receive)),
    writable: sealedWritable(inner.writable, keys.send, 1),
  };
}

/**
 * Host: resolves with the plaintext side once the guest's opening record
 * verifies (and not before, so nothing is dialled for made-up bytes); rejects
 * with a SealError when it does not, or with a timeout error.
 */
export async function acceptSealed(
  inner: ByteStream,
  keys: StreamKeys,
  timeoutMs: number,
): Promise<ByteStream> {
  const opener = new Opener(inner.readable, keys.receive);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const first = await Promise.race([
      opener.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SealError("open", "no opening record in time")),
          timeoutMs,
        );
      }),
    ]);
    if (!first || first.fin || first.plaintext.byteLength !== 0) {
      throw new SealError("open", "the stream does not start with an opening record");
    }
  } catch (err) {
    opener.cancel(err);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    readable: openedReadable(opener),
    writable: sealedWritable(inner.writable, keys.send, 0),
  };
}

function sealedWritable(
  inner: WritableStream<Uint8Array>,
  key: CryptoKey,
  firstIndex: number,
): WritableStream<Uint8Array> {
  const writer = inner.getWriter();
  let index = firstIndex;
  let failure: unknown = null;
  // Records are written without waiting for each to be sent, so sealing the
  // next overlaps sending this one; `ready` still holds the producer back.
  const put = async (record: Uint8Array) => {
    if (failure) throw failure;
    await writer.ready;
    writer.write(record).catch((err) => failure ??= err);
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let off = 0; off < chunk.byteLength; off += MAX_RECORD_PLAINTEXT) {
        const piece = chunk.subarray(off, off + MAX_RECORD_PLAINTEXT);
        await put(await sealRecord(key, index++, piece, false));
      }
    },
    async close() {
      await put(await sealRecord(key, index++, EMPTY, true));
      await writer.close();
    },
    abort(reason) {
      return writer.abort(reason);
    },
  });
}

/** Reads and opens one direction's records in order. */
class Opener {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #key: CryptoKey;
  readonly #records = new RecordReader();
  #index = 0;

  constructor(inner: ReadableStream<Uint8Array>, key: CryptoKey) {
    this.#reader = inner.getReader();
    this.#key = key;
  }

  /** The next record's plaintext; SealError when the bytes end without a FIN record. */
  async next(): Promise<{ plaintext: Uint8Array; fin: boolean }> {
    for (;;) {
      const record = this.#records.next();
      if (record) {
        const plaintext = await openRecord(this.#key, this.#index++, record.header, record.body);
        return { plaintext, fin: record.fin };
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new SealError("fin", "stream ended without its FIN record (truncated)");
      this.#records.push(value);
    }
  }

  cancel(reason: unknown): void {
    this.#reader.cancel(reason instanceof Error ? reason.message : String(reason)).catch(() => {});
  }

  /**
   * After the FIN record the sender ends its stream at once; read that end in
   * the background rather than cancel, which could reset a stream the peer is
   * still finishing. Bytes after FIN are dropped.
   */
  drain(): void {
    (async () => {
      while (!(await this.#reader.read()).done) { /* dropped */ }
    })().catch(() => {});
  }
}

function openedReadable(opener: Opener): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const { plaintext, fin } = await opener.next();
          if (plaintext.byteLength) controller.enqueue(plaintext);
          if (fin) {
            controller.close();
            opener.drain();
            return;
          }
          if (plaintext.byteLength) return;
        }
      } catch (err) {
        controller.error(err);
        opener.cancel(err);
      }
    },
    cancel(reason) {
      opener.cancel(reason);
    },
  });
}
