/**
 * DataChannel data-plane harness (not a test; needs root): a byte source, a
 * host and a guest as separate processes in a private network namespace,
 * joined by lib/rtc + lib/tunnel as `tun p2p` joins them (no relay, no PAKE:
 * this process carries the signalling). A client process then measures,
 * through the guest's port and straight to the source:
 *
 * - MB/s of one large download (median of --runs),
 * - p50/p99 of --pings sequential 64-byte echo round trips on one connection,
 *   and of as many tunnel PINGs between guest and host (the DataChannel round
 *   trip alone, no TCP): what the tunnel adds to an echo, split into the
 *   DataChannel's share and the TCP bridging's,
 * - peak RSS of host and guest after --streams downloads at once, each
 *   --stream-mb,
 *
 * and, during the downloads, the CPU each thread used (libwebrtc's network
 * thread vs the JavaScript thread), the machine's CPU per MB moved, the UDP
 * datagrams sent per MB (libwebrtc's cost is per datagram: SCTP DATA packets
 * of ~1.2 KB plus SACKs) and those the namespace dropped for want of receive
 * buffer.
 *
 *   deno run -A tests/rtc/throughput.ts [--mb 256] [--runs 3] [--pings 1000]
 *     [--streams 100] [--stream-mb 4] [--env K=V ...] [--env-b K=V ...] [--tree-a|b DIR]
 *
 * `--env` sets knobs (below) in host and guest; with `--env-b` a second pair
 * runs with those, and the two take turns run by run, so a slow spell on this
 * shared machine hits both alike. `--tree-a`/`--tree-b DIR` run a pair's host
 * and guest from another checkout (e.g. `git archive` of an older commit, with
 * node_modules linked), to compare commits the same way. Each run waits for the machine to be idle
 * first; runs that lost >10% of the CPU to the hypervisor are flagged.
 *
 *   MUX='{"initialWindow":4194304}'   MuxOptions for both muxes (JSON)
 */
import net from "node:net";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { createLoopbackNs } from "../_util/netns_lo.ts";
import { exec, type LabProcess, spawnIn } from "../lab/process.ts";
import { DENO, isRoot } from "../_util/tun.ts";
import { cpuSnapshot, peakRssMb, quiet, rssMb, udpCounter } from "../_util/procstat.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string" },
    port: { type: "string" },
    mb: { type: "string", default: "256" },
    runs: { type: "string", default: "3" },
    pings: { type: "string", default: "1000" },
    streams: { type: "string", default: "100" },
    "stream-mb": { type: "string", default: "4" },
    env: { type: "string", multiple: true, default: [] },
    "env-b": { type: "string", multiple: true, default: [] },
    "tree-a": { type: "string" },
    "tree-b": { type: "string" },
  },
});

const SELF = import.meta.filename!;
const MB = 1024 * 1024;

switch (values.role) {
  case "source":
    await source();
    break;
  case "host":
  case "guest":
    await peer(values.role, Number(values.port ?? 0));
    break;
  case "client":
    await clientMain();
    break;
  default:
    await parent();
}

// ---- source: "D<u64 n>" gets n bytes then FIN; "E" echoes until FIN ----

async function source(): Promise<void> {
  const block = new Uint8Array(MB);
  crypto.getRandomValues(block.subarray(0, 65536));
  for (let i = 65536; i < MB; i += 65536) block.copyWithin(i, 0, 65536);
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true);
    socket.once("readable", function first() {
      const head = socket.read(1) as Uint8Array | null;
      if (!head) return socket.once("readable", first);
      if (head[0] === 0x45) { // "E"
        socket.pipe(socket);
        return;
      }
      const readLen = () => {
        const len = socket.read(8) as Uint8Array | null;
        if (!len) return socket.once("readable", readLen);
        let left = Number(new DataView(len.buffer, len.byteOffset).getBigUint64(0));
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, block.byteLength);
            left -= n;
            if (!socket.write(block.subarray(0, n))) return socket.once("drain", pump);
          }
          socket.end();
        };
        pump();
        socket.resume();
      };
      readLen();
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  console.log(JSON.stringify({ port: (server.address() as net.AddressInfo).port }));
}

// ---- host / guest ----

async function peer(role: "host" | "guest", sourcePort: number): Promise<void> {
  const { RtcPeer } = await import("../../lib/rtc/mod.ts");
  const { Mux, serveGuestPort, serveHostStreams } = await import("../../lib/tunnel/mod.ts");
  const rtc = new RtcPeer({
    role: role === "guest" ? "offerer" : "answerer",
    iceServers: [],
    sendSignal: (data) => console.log(JSON.stringify({ signal: data })),
    udpReceiveBuffer: knob("UDP_RCVBUF", undefined),
  });
  // Lines from the parent: signalling, then (guest) {"pings":n} to time n tunnel PINGs.
  let pings: ((n: number) => void) | null = null;
  let buf = "";
  process.stdin.setEncoding("utf8").on("data", (s: string) => {
    const lines = (buf + s).split("\n");
    buf = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      const msg = JSON.parse(line);
      if ("pings" in msg) pings?.(msg.pings);
      else rtc.handleSignal(msg.signal);
    }
  });
  await rtc.start();
  const channel = await rtc.opened;
  const mux = new Mux(channel, knob("MUX", {}));
  mux.onclose = (reason) => console.error(`mux closed: ${reason}`);
  pings = async (n) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(await mux.ping());
    console.log(JSON.stringify({ muxPings: quantiles(times) }));
  };
  if (role === "host") {
    serveHostStreams(mux, { targetPort: sourcePort });
    console.log(JSON.stringify({ ready: 0, path: await rtc.path() }));
  } else {
    const port = await serveGuestPort(mux);
    // "pings": this guest answers {"pings":n} (older trees, run with --tree-a/-b, do not).
    console.log(JSON.stringify({ ready: port.port, path: await rtc.path(), pings: true }));
  }
}

/** A knob from the environment (JSON), as `--env NAME=...` sets it; `fallback` when unset. */
function knob<T>(name: string, fallback: T): T {
  const text = process.env[name];
  return text === undefined ? fallback : JSON.parse(text) as T;
}

// ---- client ----

function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    s.setNoDelay(true);
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

async function download(port: number, bytes: number): Promise<number> {
  const t0 = performance.now();
  const s = await dial(port);
  const req = new Uint8Array(9);
  req[0] = 0x44; // "D"
  new DataView(req.buffer).setBigUint64(1, BigInt(bytes));
  s.write(req);
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    s.on("data", (c: Uint8Array) => got += c.byteLength);
    s.once("end", () => resolve());
    s.once("error", reject);
  });
  s.destroy();
  if (got !== bytes) throw new Error(`download got ${got} of ${bytes} bytes`);
  return performance.now() - t0;
}

async function pings(port: number, n: number): Promise<{ p50: number; p99: number }> {
  const s = await dial(port);
  s.write(new Uint8Array([0x45]));
  const msg = new Uint8Array(64).fill(0x61);
  const times: number[] = [];
  let want = 0;
  let wake: (() => void) | null = null;
  s.on("data", (c: Uint8Array) => {
    want -= c.byteLength;
    if (want <= 0 && wake) wake();
  });
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    want = 64;
    await new Promise<void>((r) => {
      wake = r;
      s.write(msg);
    });
    times.push(performance.now() - t0);
  }
  s.destroy();
  return quantiles(times);
}

function quantiles(times: number[]): { p50: number; p99: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: sorted[sorted.length >> 1], p99: sorted[Math.floor(sorted.length * 0.99)] };
}

async function clientMain(): Promise<void> {
  const port = Number(values.port);
  const what = values.mb!;
  if (what.startsWith("pings:")) {
    console.log(JSON.stringify(await pings(port, Number(what.slice(6)))));
  } else if (what.startsWith("streams:")) {
    const [n, each] = what.slice(8).split("x").map(Number);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => download(port, each * MB)));
    console.log(JSON.stringify({ ms: performance.now() - t0 }));
  } else {
    console.log(JSON.stringify({ ms: await download(port, Number(what) * MB) }));
  }
}

// ---- parent ----

/** One host+guest pair under test and what was measured through it. */
interface Pair {
  label: string;
  env: Record<string, string>;
  host: LabProcess;
  guest: LabProcess;
  port: number;
  rates: number[];
  /** Runs with much CPU stolen by the hypervisor (flagged, still counted). */
  stolen: number;
  cpu: Map<string, number>;
  busy: number;
  steal: number;
  wall: number;
  drops: number;
  datagrams: number;
  /** The guest times tunnel PINGs on request. */
  pings: boolean;
}

async function parent(): Promise<void> {
  if (!isRoot()) {
    console.error("throughput: needs root (it runs in a private network namespace)");
    process.exit(1);
  }
  const mb = Number(values.mb);
  const runs = Number(values.runs);
  const envOf = (list: string[]) =>
    Object.fromEntries(
      list.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
  const self = (tree?: string) => tree ? path.resolve(tree, "tests/rtc/throughput.ts") : SELF;
  const configs = [{ label: "A", env: envOf(values.env!), self: self(values["tree-a"]) }];
  if (values["env-b"]!.length > 0 || values["tree-b"]) {
    configs.push({ label: "B", env: envOf(values["env-b"]!), self: self(values["tree-b"]) });
  }

  await using ns = await createLoopbackNs();
  const stack = new AsyncDisposableStack();
  await using _stack = stack;
  const spawn = (args: string[], env: Record<string, string> = {}, script = SELF) =>
    stack.use(spawnIn(ns.ns, [DENO, "run", "-A", "--quiet", script, ...args], { env }));
  const src = spawn(["--role", "source"]);
  const srcPort = Number((await src.waitForLine(/"port":(\d+)/, 15_000))[1]);
  const pairs: Pair[] = [];
  for (const { label, env, self } of configs) {
    const host = spawn(["--role", "host", "--port", String(srcPort)], env, self);
    const guest = spawn(["--role", "guest"], env, self);
    const [, ready] = await Promise.all([pump(host, guest), pump(guest, host)]);
    const pair = ready.path as { local: string; remote: string };
    console.log(
      `${label}: ${self === SELF ? "" : `${self} `}${
        JSON.stringify(env)
      }; ${pair.local} <-> ${pair.remote}; ` +
        `RSS connected: host ${await rssMb(host.pid)} MB, guest ${await rssMb(guest.pid)} MB`,
    );
    pairs.push({
      label,
      env,
      host,
      guest,
      port: ready.ready as number,
      rates: [],
      stolen: 0,
      cpu: new Map(),
      busy: 0,
      steal: 0,
      wall: 0,
      drops: 0,
      datagrams: 0,
      pings: ready.pings === true,
    });
  }

  const client = async (port: number, what: string) => {
    const argv = [
      DENO,
      "run",
      "-A",
      "--quiet",
      SELF,
      "--role",
      "client",
      "--port",
      String(port),
      "--mb",
      what,
    ];
    const r = await exec(ns.ns, argv, { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`client ${what} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, number>;
  };
  const rate = (ms: number, bytes = mb * MB) => bytes / 1e6 / (ms / 1000);

  await quiet(0.15, 2000, 300);
  console.log(`raw TCP: ${rate((await client(srcPort, String(mb))).ms).toFixed(1)} MB/s`);
  // Configurations take turns, so a slow spell on this shared machine hits each alike.
  for (let i = 0; i < runs; i++) {
    for (const p of pairs) {
      await quiet(0.15, 2000, 300);
      const pids = { host: p.host.pid, guest: p.guest.pid, source: src.pid };
      const before = await cpuSnapshot(pids);
      const drops = await udpDrops(ns.ns);
      const datagrams = await udpSent(ns.ns);
      const ms = (await client(p.port, String(mb))).ms;
      p.drops += await udpDrops(ns.ns) - drops;
      p.datagrams += await udpSent(ns.ns) - datagrams;
      const after = await cpuSnapshot(pids);
      for (const [k, v] of after.threads) {
        p.cpu.set(k, (p.cpu.get(k) ?? 0) + v - (before.threads.get(k) ?? 0));
      }
      const wall = (after.at - before.at) / 1000;
      const stolen = (after.steal - before.steal) / wall > 0.1;
      p.busy += after.busy - before.busy;
      p.steal += after.steal - before.steal;
      p.wall += wall;
      p.rates.push(rate(ms));
      if (stolen) p.stolen++;
      console.log(
        `  ${p.label} run ${i + 1}: ${rate(ms).toFixed(1)} MB/s${stolen ? " (>10% stolen)" : ""}`,
      );
    }
  }
  for (const p of pairs) {
    const rates = [...p.rates].sort((a, b) => a - b);
    const pct = (s: number) => `${(s / p.wall * 100).toFixed(0)}%`;
    const ours = [...p.cpu.values()].reduce((a, b) => a + b, 0);
    console.log(
      `${p.label}: DataChannel ${rates[rates.length >> 1].toFixed(1)} MB/s median of ${runs} ` +
        `(${rates.map((r) => r.toFixed(0)).join(", ")}); ` +
        `UDP datagrams ${
          (p.datagrams / (runs * mb * MB / 1e6)).toFixed(0)
        } per MB, drops ${p.drops}` +
        (p.stolen ? `; ${p.stolen} runs had >10% CPU stolen` : ""),
    );
    console.log(
      `  cpu (% of one core): machine ${pct(p.busy)} of ${navigator.hardwareConcurrency * 100}%, ` +
        `host+guest+source ${pct(ours)}, the rest (client, kernel, anyone else) ${
          pct(p.busy - ours)
        }; ` +
        `steal ${pct(p.steal)}; ${
          (p.busy / (runs * mb * MB / 1e6) * 1000).toFixed(1)
        } ms of CPU per MB`,
    );
    for (const who of ["host", "guest", "source"]) {
      const parts = [...p.cpu].filter(([k, v]) => k.startsWith(who + " ") && v / p.wall > 0.005)
        .sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k.slice(who.length + 1)} ${pct(v)}`);
      console.log(`    ${who.padEnd(6)} ${parts.join(", ")}`);
    }
    console.log(
      `  RSS after downloads: host ${await rssMb(p.host.pid)} MB (peak ${await peakRssMb(
        p.host.pid,
      )}), ` +
        `guest ${await rssMb(p.guest.pid)} MB (peak ${await peakRssMb(p.guest.pid)})`,
    );
  }
  if (Number(values.pings) > 0) {
    await quiet(0.15, 2000, 300);
    const raw = await client(srcPort, `pings:${values.pings}`);
    console.log(`echo p50/p99: raw TCP ${raw.p50.toFixed(3)}/${raw.p99.toFixed(3)} ms`);
    for (const p of pairs) {
      await quiet(0.15, 2000, 300);
      const t = await client(p.port, `pings:${values.pings}`);
      let dc = "";
      if (p.pings) {
        p.guest.write(JSON.stringify({ pings: Number(values.pings) }) + "\n");
        const m =
          JSON.parse((await p.guest.waitForLine(/^\{"muxPings".*\}$/, 120_000))[0]).muxPings;
        dc = `; the DataChannel round trip alone (tunnel PING) ${m.p50.toFixed(3)}/${
          m.p99.toFixed(3)
        } ms`;
      }
      console.log(
        `  ${p.label}: tunnel ${t.p50.toFixed(3)}/${t.p99.toFixed(3)} ms ` +
          `(added p50 ${(t.p50 - raw.p50).toFixed(3)} ms)${dc}`,
      );
    }
  }
  const streams = Number(values.streams);
  if (streams > 0) {
    const each = Number(values["stream-mb"]);
    for (const p of pairs) {
      await quiet(0.15, 2000, 300);
      const r = await client(p.port, `streams:${streams}x${each}`);
      console.log(
        `${p.label}: ${streams} streams x ${each} MB: ${
          rate(r.ms, streams * each * MB).toFixed(1)
        } MB/s; ` +
          `peak RSS host ${await peakRssMb(p.host.pid)} MB, guest ${await peakRssMb(
            p.guest.pid,
          )} MB`,
      );
    }
  }
}

/** Forward `from`'s signalling lines to `to` until `from` says it is ready. */
async function pump(from: LabProcess, to: LabProcess): Promise<Record<string, unknown>> {
  for (;;) {
    const m = await from.waitForLine(/^\{.*\}$/, 30_000);
    const msg = JSON.parse(m[0]);
    if ("ready" in msg) return msg;
    to.write(m[0] + "\n");
  }
}

function udpDrops(ns: string): Promise<number> {
  return udpCounter(ns, "RcvbufErrors");
}

function udpSent(ns: string): Promise<number> {
  return udpCounter(ns, "OutDatagrams");
}
