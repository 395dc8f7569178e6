/**
 * 20,000 seeded random and mutated responses: the parser rejects bad ones
 * only with HttpParseError, always finishes, and reaches the same outcome
 * whether the bytes arrive in one read or in random pieces.
 */
import assert from "node:assert/strict";
import { HttpParseError, readResponse } from "../../../lib/web/http/mod.ts";
import { bytes, compress, concat, feed, mutate, prng, randomBytes } from "./_helpers.ts";

const INPUTS = 20_000;
const DEADLINE_MS = 5_000;

async function corpus(): Promise<Uint8Array[]> {
  const gzip = await compress(bytes("hello hello hello hello"), "gzip");
  return [
    bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"),
    bytes(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
    ),
    bytes("HTTP/1.0 200 OK\r\n\r\nclose-delimited"),
    bytes(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No\r\n\r\n",
    ),
    bytes("HTTP/1.1 304 Not Modified\nETag: x\n\n"),
    bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
    concat([
      bytes(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gzip.length}\r\n\r\n`),
      gzip,
    ]),
    concat([
      bytes(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n`),
      bytes(`${gzip.length.toString(16)}\r\n`),
      gzip,
      bytes("\r\n0\r\n\r\n"),
    ]),
  ];
}

type Outcome =
  | {
    ok: true;
    status: number;
    statusText: string;
    headers: [string, string][];
    body: number[] | null;
  }
  | { ok: false; field: string; before: number[] };

interface Run {
  method: string;
  decode: boolean;
  maxHeadBytes: number;
}

/** Parse and read everything; anything but an HttpParseError fails the test. */
async function outcome(stream: ReadableStream<Uint8Array>, run: Run): Promise<Outcome> {
  const before: number[] = [];
  try {
    const res = await readResponse(stream, run);
    if (res.body === null) return { ...res, ok: true, body: null };
    for await (const chunk of res.body) before.push(...chunk);
    return {
      ok: true,
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
      body: before,
    };
  } catch (err) {
    if (!(err instanceof HttpParseError)) throw err;
    return { ok: false, field: err.field, before };
  }
}

function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`parser hung on ${what}`)), DEADLINE_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

Deno.test(`readResponse survives ${INPUTS} random and mutated responses`, async () => {
  const seeds = await corpus();
  const rand = prng(0x5eed);
  const counts = { ok: 0, error: 0 };
  for (let i = 0; i < INPUTS; i++) {
    const kind = rand();
    let input: Uint8Array;
    if (kind < 0.1) input = randomBytes(rand, Math.floor(rand() * 200));
    else if (kind < 0.2) {
      input = concat([bytes("HTTP/1.1 200 OK\r\n"), randomBytes(rand, Math.floor(rand() * 200))]);
    } else {
      input = seeds[Math.floor(rand() * seeds.length)];
      const rounds = 1 + Math.floor(rand() * 3);
      for (let r = 0; r < rounds; r++) input = mutate(rand, input);
    }
    const run: Run = {
      method: rand() < 0.2 ? "HEAD" : "GET",
      decode: rand() < 0.5,
      maxHeadBytes: [40, 100, 65536][Math.floor(rand() * 3)],
    };
    const what = `input ${i} (${JSON.stringify(run)})`;
    const whole = await withDeadline(outcome(feed(input).readable, run), what);
    const pieces = await withDeadline(
      outcome(feed(input, () => 1 + Math.floor(rand() * 8)).readable, run),
      what,
    );
    counts[whole.ok ? "ok" : "error"]++;
    if (run.decode) {
      // A decompressor fails at its own pace: which fault it meets first may vary.
      assert.equal(pieces.ok, whole.ok, what);
      if (whole.ok) assert.deepEqual(pieces, whole, what);
    } else {
      assert.deepEqual(pieces, whole, what);
    }
  }
  // Mutations keep enough inputs valid that both paths are exercised.
  assert.ok(counts.ok > INPUTS / 10 && counts.error > INPUTS / 10, JSON.stringify(counts));
});
