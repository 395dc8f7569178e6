/**
 * Clients the bench runs inside a row's namespace, for figures curl and wrk do
 * not give. One JSON object per line on stdout.
 *
 *   first-byte <port>   {"event":"armed"}, then dials 127.0.0.1:<port> every
 *                       millisecond until it accepts, sends GET /hello/0 and
 *                       prints {"event":"first-byte","at":t}: t is the wall
 *                       clock (performance.timeOrigin + now(), ms) when the
 *                       first response byte arrived, comparable across processes.
 *   hold <port> <n>     opens n connections, writes an unfinished request line on
 *                       each (so every forwarder has dialled the app), prints
 *                       {"event":"holding","n":n} and keeps them open, idle,
 *                       until it is killed.
 *
 *   deno run -A scripts/benchkit/probe.ts first-byte|hold <port> [n]
 */
const [mode, portText, countText] = Deno.args;
const port = Number(portText);
const GIVE_UP_MS = 60_000;

function print(x: unknown) {
  console.log(JSON.stringify(x));
}

/** Dial until the port accepts; a refused dial means it is not open yet. */
async function dial(deadline: number): Promise<Deno.TcpConn> {
  for (;;) {
    try {
      return await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (err) {
      if (!(err instanceof Deno.errors.ConnectionRefused) || performance.now() > deadline) {
        throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

const request = new TextEncoder().encode("GET /hello/0 HTTP/1.1\r\nHost: bench\r\n");

if (mode === "first-byte") {
  print({ event: "armed" });
  using conn = await dial(performance.now() + GIVE_UP_MS);
  conn.setNoDelay(true);
  await conn.write(request);
  await conn.write(new TextEncoder().encode("\r\n"));
  const n = await conn.read(new Uint8Array(1024));
  if (n === null) throw new Error("connection closed before any response byte");
  print({ event: "first-byte", at: performance.timeOrigin + performance.now() });
} else if (mode === "hold") {
  const count = Number(countText);
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(request.subarray(0, 14)); // "GET /hello/0 H": the app waits for more
    conns.push(conn);
  }
  print({ event: "holding", n: conns.length });
  setInterval(() => {}, 1 << 30); // keep running (and the connections open) until killed
} else {
  console.error("usage: probe.ts first-byte <port> | hold <port> <n>");
  Deno.exit(2);
}
