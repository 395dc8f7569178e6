/**
 * The end-to-end layer of a tunnel stream that goes through the relay's QUIC
 * splice (relay mode). The relay's QUIC terminates at the relay, so each
 * stream is sealed again between the peers, with keys from the join code's
 * PAKE: the relay forwards records it can neither read nor change, drop,
 * reorder or cut short without the receiving peer noticing.
 *
 * Per stream (opened by the guest, which sends a fresh salt first, in clear):
 *
 *     guest -> host   salt (SALT_LENGTH = 16 bytes)
 *     both ways       record*, the last one with FIN
 *
 *     record          header (4 bytes, big-endian u32)   also the GCM AAD
 *                       bit 31     FIN: the sender's last record
 *                       bits 0-30  plaintext length, 0..MAX_RECORD_PLAINTEXT
 *                     ciphertext (length bytes) | GCM tag (16 bytes)
 *
 * Keys: HKDF-SHA256(ikm = the PAKE-derived base key, salt = the stream's salt,
 * info = "tun quic seal v1 guest->host" or "... host->guest"), one AES-256-GCM
 * key per stream and direction. Nonce: the record's index in its direction, as
 * a 96-bit big-endian number; with a fresh key per stream and direction, no
 * (key, nonce) pair repeats (NIST SP 800-38D §8.2.1, deterministic IVs).
 *
 * A stream whose bytes end without a FIN record was cut short: its reader
 * errors, so the TCP connection behind it is reset rather than ended cleanly.
 * The plaintext ends at the FIN record; anything after it is read and dropped.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { ByteStream } from "../tunnel/web_streams.ts";

export const SALT_LENGTH = 16;
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

/** This side's keys for the stream with `salt`, from the PAKE-derived `base` key. */
export async function streamKeys(
  base: Uint8Array,
  salt: Uint8Array,
  role: SealRole,
): Promise<StreamKeys> {
  if (base.byteLength !== BASE_KEY_LENGTH) {
    throw new SealError("key", `base key must be ${BASE_KEY_LENGTH} bytes`);
  }
  if (salt.byteLength !== SALT_LENGTH) {
    throw new SealError("salt", `stream salt must be ${SALT_LENGTH} bytes`);
  }
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

/** A fresh random stream salt. */
export function newSalt(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
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
 * The plaintext side of a sealed stream: writes are sealed into records on
 * `inner`; closing sends the FIN record and then ends `inner`; the readable
 * yields opened records, ends at the FIN record, and errors (SealError) on a
 * bad record or when `inner` ends without a FIN record.
 */
export function sealStream(inner: ByteStream, keys: StreamKeys): ByteStream {
  return {
    readable: openedReadable(inner.readable, keys.receive),
    writable: sealedWritable(inner.writable, keys.send),
  };
}

function sealedWritable(
  inner: WritableStream<Uint8Array>,
  key: CryptoKey,
): WritableStream<Uint8Array> {
  const writer = inner.getWriter();
  let index = 0;
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

function openedReadable(
  inner: ReadableStream<Uint8Array>,
  key: CryptoKey,
): ReadableStream<Uint8Array> {
  const reader = inner.getReader();
  const records = new RecordReader();
  let index = 0;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, err: unknown) => {
    controller.error(err);
    reader.cancel(err instanceof Error ? err.message : "sealed stream failed").catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const record = records.next();
          if (record) {
            const plaintext = await openRecord(key, index++, record.header, record.body);
            if (record.fin) {
              if (plaintext.byteLength) controller.enqueue(plaintext);
              controller.close();
              drain(reader);
              return;
            }
            if (plaintext.byteLength === 0) continue;
            controller.enqueue(plaintext);
            return;
          }
          const { value, done } = await reader.read();
          if (done) throw new SealError("fin", "stream ended without its FIN record (truncated)");
          records.push(value);
        }
      } catch (err) {
        fail(controller, err);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * After the FIN record the sender ends its stream at once; read that end in the
 * background rather than cancel, which could reset a stream the peer is still
 * finishing. Bytes after FIN are dropped.
 */
function drain(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  (async () => {
    while (!(await reader.read()).done) { /* dropped */ }
  })().catch(() => {});
}
