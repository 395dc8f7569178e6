/**
 * A user who connects before the tunnel is up: started before the guest, it
 * dials 127.0.0.1:<port> every millisecond until the guest's port accepts, then
 * downloads /file/<name> over that one connection. Run inside the guest's
 * namespace by matrix_test.ts. Prints JSON lines on stdout:
 *
 *   {"event":"armed"}                       running, dialling from now on
 *   {"event":"connected"}                   the guest's port accepted
 *   {"event":"done","status":200,"bytes":n,"sha256":hex,"waited_ms":w,"ms":t}
 *
 * waited_ms runs from the connection to the first response byte (the time the
 * connection waited for the tunnel), ms from the first to the last byte.
 *   {"event":"error","message":"..."}       then exit 1
 *
 * Plain HTTP/1.0 over a raw socket, so the connection that waits is exactly
 * the one that carries the file.
 *
 *   deno run -A tests/lab/early_client.ts <port> <name>
 */
import net from "node:net";
import { createHash } from "node:crypto";
import process from "node:process";

const [portText, name] = process.argv.slice(2);
const port = Number(portText);
const GIVE_UP_MS = 30_000;

function print(x: unknown) {
  process.stdout.write(JSON.stringify(x) + "\n");
}

function fail(message: string): never {
  print({ event: "error", message });
  process.exit(1);
}

/** Dial until something accepts; a refused dial means the port is not open yet. */
function dial(deadline: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => resolve(socket));
    socket.once("error", (err: NodeJS.ErrnoException) => {
      socket.destroy();
      if (err.code !== "ECONNREFUSED") return reject(err);
      if (performance.now() > deadline) return reject(new Error(`port ${port} never opened`));
      setTimeout(() => dial(deadline).then(resolve, reject), 1);
    });
  });
}

print({ event: "armed" });
const socket = await dial(performance.now() + GIVE_UP_MS).catch((e) => fail(e.message));
print({ event: "connected" });

const connectedAt = performance.now();
let firstByteAt = 0;
const chunks: Uint8Array[] = [];
await new Promise<void>((resolve, reject) => {
  socket.on("data", (c: Uint8Array) => {
    firstByteAt ||= performance.now();
    chunks.push(c);
  });
  socket.on("end", resolve);
  socket.on("error", reject);
  socket.write(`GET /file/${name} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
}).catch((e) => fail(`connection failed: ${e.message}`));
const doneAt = performance.now();

const response = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
chunks.reduce((at, c) => (response.set(c, at), at + c.length), 0);
const split = headerEnd(response);
if (split < 0) fail(`no HTTP header in ${response.length} bytes`);
const head = new TextDecoder("latin1").decode(response.subarray(0, split));
const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
const body = response.subarray(split + 4);
print({
  event: "done",
  status,
  bytes: body.length,
  sha256: createHash("sha256").update(body).digest("hex"),
  waited_ms: Math.round((firstByteAt || doneAt) - connectedAt),
  ms: Math.round(doneAt - (firstByteAt || doneAt)),
});

/** Index of the CRLFCRLF that ends the response head, or -1. */
function headerEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}
