/**
 * The end-to-end record layer of relay-mode QUIC streams (lib/quic/sealed.ts):
 * the codec, a round trip through an in-memory wire cut at random places, and
 * what a relay in the middle could try (flip a bit, drop, reorder, replay,
 * cut the stream short, make up or swap a stream's opening): each is caught
 * by the reading peer.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../_util/assert.ts";
import { prng, randomBytes } from "../_util/prng.ts";
import {
  acceptSealed,
  decodeHeader,
  decodeStreamId,
  encodeHeader,
  encodeStreamId,
  HEADER_LENGTH,
  MAX_RECORD_PLAINTEXT,
  openRecord,
  openSealed,
  RecordReader,
  SealError,
  sealRecord,
  streamKeys,
  TAG_LENGTH,
} from "../../lib/quic/sealed.ts";
import type { ByteStream } from "../../lib/tunnel/web_streams.ts";

const base = new Uint8Array(32).fill(7);

Deno.test("record headers round-trip and refuse lengths above the limit", () => {
  const cases: [number, boolean][] = [[0, false], [0, true], [1, false], [
    MAX_RECORD_PLAINTEXT,
    true,
  ]];
  for (const [length, fin] of cases) {
    assertEquals(decodeHeader(encodeHeader(length, fin)), { length, fin });
  }
  assertEquals(Array.from(encodeHeader(5, true)), [0x80, 0, 0, 5]);
  const tooLong = new Uint8Array([0x00, 0x01, 0x00, 0x01]); // 65537
  assertEquals(assertThrows(() => decodeHeader(tooLong), SealError).field, "length");
  assertEquals(assertThrows(() => decodeHeader(new Uint8Array(3)), SealError).field, "header");
  assertThrows(() => encodeHeader(MAX_RECORD_PLAINTEXT + 1, false), SealError);
});

Deno.test("stream numbers round-trip through their 8 bytes and refuse what is out of range", () => {
  for (const id of [0, 1, 255, 2 ** 32, 2 ** 53 - 1]) {
    assertEquals(decodeStreamId(encodeStreamId(id)), id);
  }
  assertEquals(Array.from(encodeStreamId(258)), [0, 0, 0, 0, 0, 0, 1, 2]);
  assertThrows(() => decodeStreamId(new Uint8Array(8).fill(0xff)), SealError);
  assertThrows(() => decodeStreamId(new Uint8Array(7)), SealError);
  assertThrows(() => encodeStreamId(-1), SealError);
});

Deno.test("the record reader finds records however the bytes are cut", async () => {
  const keys = await streamKeys(base, 1, "guest");
  const rand = prng(11);
  const plaintexts = Array.from({ length: 40 }, () => randomBytes(rand, (rand() * 3000) | 0));
  const records = await Promise.all(
    plaintexts.map((p, i) => sealRecord(keys.send, i, p, i === plaintexts.length - 1)),
  );
  const wire = concat(records);
  for (let trial = 0; trial < 20; trial++) {
    const reader = new RecordReader();
    const got: { body: Uint8Array; fin: boolean }[] = [];
    for (let off = 0; off < wire.length;) {
      const n = 1 + ((rand() * 700) | 0);
      reader.push(wire.subarray(off, off + n));
      off += n;
      for (let r = reader.next(); r; r = reader.next()) got.push(r);
    }
    assertEquals(got.length, plaintexts.length);
    assertEquals(reader.buffered, 0);
    for (const [i, r] of got.entries()) {
      assertEquals(r.body.byteLength, plaintexts[i].byteLength + TAG_LENGTH);
      assertEquals(r.fin, i === plaintexts.length - 1);
    }
  }
});

Deno.test("a header announcing an oversized record is refused before its body arrives", () => {
  const reader = new RecordReader();
  reader.push(new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
  assertThrows(() => reader.next(), SealError);
});

Deno.test("a record opens only under its key and its own index", async () => {
  const guest = await streamKeys(base, 5, "guest");
  const host = await streamKeys(base, 5, "host");
  const record = await sealRecord(guest.send, 3, new TextEncoder().encode("hello"), false);
  const header = record.subarray(0, HEADER_LENGTH);
  const body = record.subarray(HEADER_LENGTH);
  assertEquals(new TextDecoder().decode(await openRecord(host.receive, 3, header, body)), "hello");
  await assertRejects(() => openRecord(host.receive, 4, header, body), SealError); // replayed
  await assertRejects(() => openRecord(host.send, 3, header, body), SealError); // reflected
  const otherStream = await streamKeys(base, 6, "host");
  await assertRejects(() => openRecord(otherStream.receive, 3, header, body), SealError);
  const finHeader = encodeHeader(5, true); // FIN forged onto a data record
  await assertRejects(() => openRecord(host.receive, 3, finHeader, body), SealError);
});

/** A one-way in-memory wire whose bytes pass through `middle` (the relay's seat). */
function wire(middle?: TransformStream<Uint8Array, Uint8Array>) {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const readable = middle ? pipe.readable.pipeThrough(middle) : pipe.readable;
  return { writable: pipe.writable, readable };
}

/**
 * Sealed stream ends for guest and host over two wires. The host's end is a
 * promise: it exists only once the guest's opening record verified.
 */
async function sealedPair(
  toHost?: TransformStream<Uint8Array, Uint8Array>,
  hostId = 9,
): Promise<{ guest: ByteStream; host: Promise<ByteStream> }> {
  const up = wire(toHost);
  const down = wire();
  const host = acceptSealed(
    { readable: up.readable, writable: down.writable },
    await streamKeys(base, hostId, "host"),
    5_000,
  );
  host.catch(() => {});
  const guest = await openSealed(
    { readable: down.readable, writable: up.writable },
    await streamKeys(base, 9, "guest"),
  );
  return { guest, host };
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return concat(chunks);
}

async function writeAll(
  writable: WritableStream<Uint8Array>,
  data: Uint8Array,
  rand: () => number,
) {
  const writer = writable.getWriter();
  for (let off = 0; off < data.length;) {
    const n = (rand() * 200_000) | 0; // 0..200 KB, above the record limit at times
    await writer.write(data.subarray(off, off + n));
    off += n;
  }
  await writer.close();
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

Deno.test("4 MB cross a sealed stream both ways intact, each direction ended by its FIN", async () => {
  const rand = prng(5);
  const up = randomBytes(rand, 4 * 1024 * 1024);
  const down = randomBytes(rand, 1024 * 1024 + 17);
  const { guest, host: hostEnd } = await sealedPair();
  const host = await hostEnd;
  const [gotUp, gotDown] = await Promise.all([
    readAll(host.readable),
    readAll(guest.readable),
    writeAll(guest.writable, up, rand),
    writeAll(host.writable, down, rand),
  ]);
  assertEquals(gotUp.byteLength, up.byteLength);
  assert(gotUp.every((b, i) => b === up[i]), "upstream bytes differ");
  assert(gotDown.every((b, i) => b === down[i]) && gotDown.byteLength === down.byteLength);
});

/** What the host's reader ends with when the relay seat does `middle` to the guest's bytes. */
async function tampered(
  middle: (record: Uint8Array, index: number) => Uint8Array[],
): Promise<unknown> {
  // Re-cut the wire into records first, so `middle` acts on whole records.
  const reader = new RecordReader();
  let index = 0;
  const relay = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      reader.push(chunk);
      for (let r = reader.next(); r; r = reader.next()) {
        for (const out of middle(concat([r.header, r.body]), index++)) controller.enqueue(out);
      }
    },
  });
  const { guest, host } = await sealedPair(relay);
  const rand = prng(9);
  writeAll(guest.writable, randomBytes(rand, 300_000), rand).catch(() => {});
  try {
    await readAll((await host).readable);
    return "ended cleanly";
  } catch (err) {
    return err;
  }
}

Deno.test("a relay that alters, drops, reorders, replays or truncates records is caught", async () => {
  let held: Uint8Array | null = null;
  const cases: [string, (r: Uint8Array, i: number) => Uint8Array[], string][] = [
    ["drops the opening record", (r, i) => (i === 0 ? [] : [r]), "tag"],
    ["flips one ciphertext bit", (r, i) => {
      if (i === 2) r[HEADER_LENGTH + 10] ^= 1;
      return [r];
    }, "tag"],
    ["sets FIN on a data record", (r, i) => {
      if (i === 1) r[0] |= 0x80;
      return [r];
    }, "tag"],
    ["drops a record", (r, i) => (i === 2 ? [] : [r]), "tag"],
    ["swaps two records", (r, i) => {
      if (i === 2) {
        held = r;
        return [];
      }
      if (i === 3) return [r, held!];
      return [r];
    }, "tag"],
    ["replays a record", (r, i) => (i === 2 ? [r, r] : [r]), "tag"],
    ["cuts the stream before FIN", (r) => ((r[0] & 0x80) ? [] : [r]), "fin"],
  ];
  for (const [what, middle, field] of cases) {
    const outcome = await tampered(middle);
    assert(outcome instanceof SealError, `${what}: expected a SealError, got ${outcome}`);
    assertEquals(outcome.field, field, what);
  }
  assertEquals(await tampered((r) => [r]), "ended cleanly");
  // Junk after FIN changes nothing the reader delivered: the plaintext ended there.
  assertEquals(
    await tampered((r) => ((r[0] & 0x80) ? [r, new Uint8Array(21)] : [r])),
    "ended cleanly",
  );
});

Deno.test("the host's end opens only for the guest's opening record of that very stream", async () => {
  // Keyed for another stream number (a relay relabelling a stream): refused.
  const relabelled = await sealedPair(undefined, 10);
  const err = await relabelled.host.then(() => null, (e) => e);
  assert(err instanceof SealError, String(err));
  // Made-up bytes instead of an opening record: refused, nothing to read.
  const up = wire();
  const down = wire();
  const host = acceptSealed(
    { readable: up.readable, writable: down.writable },
    await streamKeys(base, 1, "host"),
    5_000,
  );
  const writer = up.writable.getWriter();
  await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  await writer.close();
  assert((await host.then(() => null, (e) => e)) instanceof SealError);
  // A guest that opens with a data record instead of the empty one: refused too.
  const keys = await streamKeys(base, 2, "guest");
  const up2 = wire();
  const host2 = acceptSealed(
    { readable: up2.readable, writable: wire().writable },
    await streamKeys(base, 2, "host"),
    5_000,
  );
  const w2 = up2.writable.getWriter();
  await w2.write(await sealRecord(keys.send, 0, new Uint8Array(3), false));
  const err2 = await host2.then(() => null, (e) => e);
  assertEquals((err2 as SealError).field, "open");
});
