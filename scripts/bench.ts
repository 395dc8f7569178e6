/**
 * One benchmark run: a 256 MB download (median of several) and 1,000 sequential
 * small GETs, over raw loopback TCP and through the tunnel on both data planes
 * (relay, host and two guests as separate processes in a private network
 * namespace: one guest on a WebRTC DataChannel, one on direct QUIC, both to
 * the same host). Prints figures; asserts nothing.
 *
 *   scripts/bench [--mb 256] [--gets 1000] [--runs 3]
 *
 * Two GET figures: the HTTP client fixture opens a new connection per GET (its
 * keep-alive agent is not reused under Deno), so that row includes a tunnel
 * stream open per request; the "one connection" row sends every GET on one
 * socket and shows the per-request cost alone.
 *
 * The UDP drop count is the namespace's receive-buffer overflows during each
 * path's downloads: libwebrtc leaves its UDP sockets at the kernel default
 * (net.core.rmem_default), and every drop costs the SCTP association a
 * retransmission, sometimes a 400 ms+ timeout, which is most of the run-to-run
 * spread. QUIC (quinn, in Deno) recovers from a drop within the round trip.
 *
 * Internal: `bench.ts --probe <port> <n>` is the one-connection client, run
 * inside the namespace.
 */
import { connect } from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";
import { createLoopbackNs } from "../tests/_util/netns_lo.ts";
import { exec } from "../tests/lab/process.ts";
import {
  client,
  DENO,
  isRoot,
  randomFile,
  startApp,
  startGuest,
  startHost,
  startRelay,
} from "../tests/_util/tun.ts";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: {
    mb: { type: "string", default: "256" },
    gets: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    probe: { type: "boolean", default: false },
  },
});

if (values.probe) {
  const [port, n] = positionals.map(Number);
  console.log(JSON.stringify(await probeOneConnection(port, n)));
  process.exit(0);
}

const mb = Number(values.mb);
const gets = Number(values.gets);
const runs = Number(values.runs);
if (!isRoot()) {
  console.error("bench: needs root (it runs in a private network namespace)");
  process.exit(1);
}

const blob = await randomFile(mb * 1024 * 1024);
try {
  await using net = await createLoopbackNs();
  await using app = (await startApp(net.ns, blob.dir)).proc;
  const appPort = Number(app.lines[0].match(/\d+/)![0]);
  const relay = await startRelay(net.ns, "127.0.0.1");
  await using _relay = relay.proc;
  const host = await startHost(net.ns, appPort, ["--relay", relay.info.url]);
  await using _host = host.proc;
  const guest = await startGuest(net.ns, host.info.code, ["--relay", relay.info.url]);
  await using _guest = guest.proc;
  const quic = await startGuest(net.ns, host.info.code, [
    "--relay",
    relay.info.url,
    "--transport",
    "quic",
  ]);
  await using _quic = quic.proc;

  const udpDrops = async () => {
    let drops = 0;
    for (const file of ["/proc/net/snmp", "/proc/net/snmp6"]) {
      const text = (await exec(net.ns, ["cat", file])).stdout;
      const v6 = /Udp6RcvbufErrors\s+(\d+)/.exec(text);
      if (v6) drops += Number(v6[1]);
      const v4 = text.split("\n").filter((l) => l.startsWith("Udp: "));
      if (v4.length === 2) {
        const names = v4[0].split(/\s+/);
        drops += Number(v4[1].split(/\s+/)[names.indexOf("RcvbufErrors")]);
      }
    }
    return drops;
  };
  const measure = async (port: number) => {
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const d = await client(net.ns, ["download", String(port), blob.name], 600_000);
      if (d.sha256 !== blob.sha256) throw new Error(`download through port ${port} was corrupted`);
      rates.push((mb * 1024 * 1024) / 1e6 / (Number(d.ms) / 1000));
    }
    const l = await client(net.ns, ["latency", String(port), String(gets)], 600_000);
    const probe = await exec(
      net.ns,
      [DENO, "run", "-A", import.meta.filename!, "--probe", String(port), String(gets)],
      { timeoutMs: 600_000 },
    );
    if (probe.code !== 0) throw new Error(`latency probe exited ${probe.code}: ${probe.stderr}`);
    const one = JSON.parse(probe.stdout) as { p50_ms: number; p99_ms: number };
    rates.sort((a, b) => a - b);
    return {
      rates,
      p50: Number(l.p50_ms),
      p99: Number(l.p99_ms),
      oneP50: one.p50_ms,
      oneP99: one.p99_ms,
    };
  };
  const raw = await measure(appPort);
  const dropsBefore = await udpDrops();
  const tunnel = await measure(guest.info.port);
  const dropsMiddle = await udpDrops();
  const overQuic = await measure(quic.info.port);
  const drops = dropsMiddle - dropsBefore;
  const quicDrops = await udpDrops() - dropsMiddle;
  const rssKb = async (proc: { pid: number }) => {
    try {
      const status = await Deno.readTextFile(`/proc/${proc.pid}/status`);
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  const row = (label: string, a: string, b: string, c: string) =>
    console.log(`${label.padEnd(34)}${a.padStart(12)}${b.padStart(16)}${c.padStart(16)}`);
  const median = (r: number[]) => `${r[r.length >> 1].toFixed(1)} MB/s`;
  const spread = (r: number[]) => `${r[0].toFixed(0)}-${r[r.length - 1].toFixed(0)}`;
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  console.log(
    `tun bench: ${mb} MB download (median of ${runs}), ${gets} sequential GETs two ways, on both data planes`,
  );
  console.log(
    `paths: DataChannel ${guest.info.path} (${guest.info.local_candidate} ↔ ${guest.info.remote_candidate}), ` +
      `QUIC ${quic.info.path}; one host, private netns, loopback`,
  );
  const col = (f: (m: typeof raw) => string) => [f(raw), f(tunnel), f(overQuic)] as const;
  row("", "raw TCP", "DataChannel", "QUIC");
  row(`${mb} MB download`, ...col((m) => median(m.rates)));
  row(`  min-max of ${runs} (MB/s)`, ...col((m) => spread(m.rates)));
  row(`${gets} GETs, new conn each p50`, ...col((m) => ms(m.p50)));
  row(`${gets} GETs, new conn each p99`, ...col((m) => ms(m.p99)));
  row(`${gets} GETs, one conn p50`, ...col((m) => ms(m.oneP50)));
  row(`${gets} GETs, one conn p99`, ...col((m) => ms(m.oneP99)));
  row("UDP datagrams dropped (rcvbuf)", "-", String(drops), String(quicDrops));
  row("p2p-join → ready", "-", `${guest.info.wall_ms} ms`, `${quic.info.wall_ms} ms`);
  // Peak memory of the tun processes (the wrapper `ip netns exec` execs into deno).
  const mbOf = async (p: { pid: number }) => Math.round(await rssKb(p) / 1024);
  row("peak RSS guest", "-", `${await mbOf(guest.proc)} MB`, `${await mbOf(quic.proc)} MB`);
  row("peak RSS host (both guests)", "-", `${await mbOf(host.proc)} MB`, "");
} finally {
  await Deno.remove(blob.dir, { recursive: true });
}

/** `n` sequential GET /hello/<i> on one HTTP/1.1 connection; p50/p99 in ms. */
async function probeOneConnection(
  port: number,
  n: number,
): Promise<{ p50_ms: number; p99_ms: number }> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let pending = "";
  let done: (() => void) | null = null;
  socket.on("data", (chunk: Uint8Array) => {
    pending += new TextDecoder().decode(chunk);
    if (done && responseComplete(pending)) {
      pending = "";
      done();
    }
  });
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      done = resolve;
      socket.once("close", () => reject(new Error("connection closed mid-probe")));
      socket.write(`GET /hello/${i} HTTP/1.1\r\nHost: bench\r\n\r\n`);
    });
    socket.removeAllListeners("close");
    times.push(performance.now() - t0);
  }
  socket.destroy();
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { p50_ms: q(0.5), p99_ms: q(0.99) };
}

/** Whether `text` holds one whole HTTP response (Content-Length or chunked body). */
function responseComplete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = text.slice(0, end).toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) return text.length - end - 4 >= Number(length[1]);
  return /\r\ntransfer-encoding:\s*chunked/.test(head) && text.endsWith("\r\n0\r\n\r\n");
}
