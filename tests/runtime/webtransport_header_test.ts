/**
 * The WebTransport stream prefix codec (lib/runtime/webtransport_header.ts):
 * RFC 9000 varint vectors, a round trip over random values, and what a
 * peer's prefix may look like on the wire.
 */
import { assert, assertEquals, assertRejects } from "../_util/assert.ts";
import { prng } from "../_util/prng.ts";
import {
  decodeVarint,
  encodeBidiStreamHeader,
  encodeVarint,
  MAX_VARINT,
  readBidiStreamHeader,
  StreamHeaderError,
} from "../../lib/runtime/webtransport_header.ts";

const bytes = (hex: string) => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));

Deno.test("RFC 9000 Appendix A.1 varint examples decode, and encode back in shortest form", () => {
  const cases: [string, bigint, string][] = [
    // wire, value, shortest encoding
    ["c2197c5eff14e88c", 151288809941952652n, "c2197c5eff14e88c"],
    ["9d7f3e7d", 494878333n, "9d7f3e7d"],
    ["7bbd", 15293n, "7bbd"],
    ["25", 37n, "25"],
    ["4025", 37n, "25"], // a two-byte 37 is valid, just not shortest
  ];
  for (const [wire, value, shortest] of cases) {
    const decoded = decodeVarint(bytes(wire));
    assertEquals(decoded, { value, length: wire.length / 2 });
    assertEquals(encodeVarint(value), bytes(shortest));
  }
});

Deno.test("varints round-trip at every length boundary and for random values", () => {
  const rand = prng(9000);
  const values = [0n, 63n, 64n, 16383n, 16384n, 2n ** 30n - 1n, 2n ** 30n, MAX_VARINT];
  for (let i = 0; i < 1000; i++) {
    values.push(BigInt(Math.floor(rand() * 2 ** 31)) * BigInt(Math.floor(rand() * 2 ** 31)));
  }
  for (const v of values) {
    const wire = encodeVarint(v);
    assertEquals(decodeVarint(wire), { value: v, length: wire.length });
    assertEquals(decodeVarint(wire.subarray(0, wire.length - 1)), undefined, "truncated");
  }
  for (const bad of [-1n, MAX_VARINT + 1n]) {
    let threw = false;
    try {
      encodeVarint(bad);
    } catch (err) {
      threw = err instanceof RangeError;
    }
    assert(threw, `${bad} is refused`);
  }
});

/** A reader over `wire` delivered in pieces of `piece` bytes, as the network might. */
function chunkedReader(wire: Uint8Array, piece: number) {
  let offset = 0;
  return async (n: number): Promise<Uint8Array | null> => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (offset >= wire.length) return null;
      const take = Math.min(piece, n - filled, wire.length - offset);
      out.set(wire.subarray(offset, offset + take), filled);
      offset += take;
      filled += take;
      await Promise.resolve();
    }
    return out;
  };
}

Deno.test("a peer's stream prefix is read in any split, and nothing past it", async () => {
  const cases: [string, Uint8Array, bigint][] = [
    ["what tun and browsers send for session 0", bytes("404100"), 0n],
    ["a type in four bytes (not shortest, still valid)", bytes("8000004100"), 0n],
    ["a large session ID", encodeBidiStreamHeader(4n * 1_000_000n), 4_000_000n],
  ];
  for (const [name, prefix, sessionId] of cases) {
    for (const piece of [1, 2, 16]) {
      const wire = new Uint8Array([...prefix, 0xaa, 0xbb]);
      let consumed = 0;
      const read = chunkedReader(wire, piece);
      const header = await readBidiStreamHeader(async (n) => {
        consumed += n;
        return await read(n);
      });
      assertEquals(header.sessionId, sessionId, name);
      assertEquals(consumed, prefix.length, `${name}: reads stop at the prefix`);
    }
  }
  assertEquals(encodeBidiStreamHeader(0n), bytes("404100"));
});

Deno.test("a stream that is not WebTransport, or ends inside the prefix, is refused by field", async () => {
  const cases: [string, string, "type" | "sessionId"][] = [
    ["empty", "", "type"],
    ["an HTTP/3 HEADERS frame", "01", "type"],
    ["a unidirectional stream type", "4054", "type"],
    ["cut inside the type", "40", "type"],
    ["no session ID", "4041", "sessionId"],
    ["cut inside the session ID", "4041c0", "sessionId"],
  ];
  for (const [name, hex, field] of cases) {
    const err = await assertRejects(
      () => readBidiStreamHeader(chunkedReader(hex ? bytes(hex) : new Uint8Array(0), 1)),
      StreamHeaderError,
    );
    assertEquals(err.field, field, name);
  }
});
