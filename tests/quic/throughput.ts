/**
 * QUIC direct data-plane harness (not a test; needs root): a byte source, a
 * host and a guest as separate processes in a private network namespace,
 * joined by one raw QUIC connection and lib/peer/quic_link.ts as `tun
 * p2p-join --transport quic` joins them (no relay, no PAKE, no control
 * stream: the guest dials the host's endpoint and trusts its certificate).
 * The byte source and the client are tests/rtc/throughput.ts's roles.
 *
 * Per pair: MB/s of one --mb download and of --streams parallel downloads
 * of --mb/--streams each (medians of --runs), the CPU seconds per GB moved
 * of host and guest (less sensitive to other work on a shared machine than
 * MB/s), each thread's share of that, and the UDP datagrams the namespace
 * dropped for want of receive buffer.
 *
 *   deno run -A --unstable-net tests/quic/throughput.ts [--mb 256] [--runs 3]
 *     [--streams 8] [--env K=V ...] [--env-b K=V ...] [--tree-a|b DIR]
 *
 * With `--env-b` or `--tree-b` a second pair runs, and the two take turns
 * run by run, so a slow spell on this shared machine hits both alike.
 * `--tree-a`/`--tree-b DIR` load the pair's lib/ from another checkout (e.g.
 * `git archive` of an older commit, with node_modules linked); the pieces
 * used (openQuicEndpoint, directLink, serveStream, serveGuestConns or else
 * serveGuestPort) must have the same shape there.
 */
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { createLoopbackNs } from "../_util/netns_lo.ts";
import { exec, type LabProcess, spawnIn } from "../lab/process.ts";
import { DENO, isRoot, ROOT } from "../_util/tun.ts";
import { cpuSnapshot, peakRssMb, quiet, udpCounter } from "../_util/procstat.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string" },
    port: { type: "string" },
    tree: { type: "string" },
    cert: { type: "string" },
    mb: { type: "string", default: "256" },
    runs: { type: "string", default: "3" },
    streams: { type: "string", default: "8" },
    env: { type: "string", multiple: true, default: [] },
    "env-b": { type: "string", multiple: true, default: [] },
    "tree-a": { type: "string" },
    "tree-b": { type: "string" },
  },
});

const SELF = import.meta.filename!;
const RTC_HARNESS = path.join(ROOT, "tests/rtc/throughput.ts");
const MB = 1024 * 1024;
const RUN = [DENO, "run", "-A", "--unstable-net", "--quiet"];

switch (values.role) {
  case "host":
    await host(values.tree ?? ROOT, Number(values.port));
    break;
  case "guest":
    await guest(values.tree ?? ROOT, Number(values.port), atob(values.cert!));
    break;
  default:
    await parent();
}

// ---- host / guest ----

async function host(tree: string, sourcePort: number): Promise<void> {
  const { openQuicEndpoint } = await import(path.join(tree, "lib/runtime/mod.ts"));
  const { selfSignedCert } = await import(path.join(tree, "lib/cert/mod.ts"));
  const { LinkCounters, serveStream } = await import(path.join(tree, "lib/peer/quic_link.ts"));
  const cert = await selfSignedCert({ commonName: "bench", dnsNames: ["bench"], validDays: 1 });
  const endpoint = await openQuicEndpoint({
    hostname: "127.0.0.1",
    port: 0,
    server: { certPem: cert.certPem, keyPem: cert.keyPem, alpn: ["bench"] },
  });
  console.log(JSON.stringify({ port: endpoint.port, cert: cert.certPem }));
  const counters = new LinkCounters();
  for await (const conn of endpoint.incoming) {
    (async () => {
      for await (const stream of conn.incomingBidirectionalStreams) {
        serveStream(stream, sourcePort, counters);
      }
    })().catch(() => {});
  }
}

async function guest(tree: string, hostPort: number, certPem: string): Promise<void> {
  const { openQuicEndpoint } = await import(path.join(tree, "lib/runtime/mod.ts"));
  const { directLink, LinkCounters } = await import(path.join(tree, "lib/peer/quic_link.ts"));
  // As lib/peer/guest.ts serves a QUIC guest's port; older trees have only serveGuestPort.
  const { serveGuestPort } = await import(path.join(tree, "lib/tunnel/mod.ts"));
  const serveGuestConns = await import(path.join(tree, "lib/tunnel/guest_conns.ts"))
    .then((m) => m.serveGuestConns, () => serveGuestPort);
  const endpoint = await openQuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const conn = await endpoint.connect({
    hostname: "127.0.0.1",
    port: hostPort,
    alpn: ["bench"],
    caCertPem: certPem,
    serverName: "bench",
  });
  const port = await serveGuestConns(directLink(conn, new LinkCounters()));
  console.log(JSON.stringify({ ready: port.port }));
}

// ---- parent ----

/** One host+guest pair under test and what was measured through it. */
interface Pair {
  label: string;
  port: number;
  pids: Record<string, number>;
  procs: LabProcess[];
  rates: { one: number[]; many: number[] };
  /** CPU seconds per thread ("host tokio-runtime-w/123"), all runs. */
  cpu: Map<string, number>;
  /** The part of `cpu` spent in the kernel (system time). */
  kernel: Map<string, number>;
  busy: number;
  steal: number;
  wall: number;
  bytes: number;
  drops: number;
}

async function parent(): Promise<void> {
  if (!isRoot()) {
    console.error("throughput: needs root (it runs in a private network namespace)");
    process.exit(1);
  }
  const mb = Number(values.mb);
  const runs = Number(values.runs);
  const streams = Number(values.streams);
  const envOf = (list: string[]) =>
    Object.fromEntries(
      list.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
  const tree = (dir?: string) => dir ? path.resolve(dir) : ROOT;
  const configs = [{ label: "A", env: envOf(values.env!), tree: tree(values["tree-a"]) }];
  if (values["env-b"]!.length > 0 || values["tree-b"]) {
    configs.push({ label: "B", env: envOf(values["env-b"]!), tree: tree(values["tree-b"]) });
  }

  await using ns = await createLoopbackNs();
  const stack = new AsyncDisposableStack();
  await using _stack = stack;
  const spawn = (args: string[], env: Record<string, string> = {}) =>
    stack.use(spawnIn(ns.ns, [...RUN, ...args], { env }));
  const src = spawn([RTC_HARNESS, "--role", "source"]);
  const srcPort = Number((await src.waitForLine(/"port":(\d+)/, 15_000))[1]);
  const pairs: Pair[] = [];
  for (const { label, env, tree } of configs) {
    const h = spawn([SELF, "--role", "host", "--tree", tree, "--port", String(srcPort)], env);
    const hello = JSON.parse((await h.waitForLine(/^\{.*"cert".*\}$/, 15_000))[0]);
    const g = spawn(
      [
        SELF,
        "--role",
        "guest",
        "--tree",
        tree,
        "--port",
        String(hello.port),
        "--cert",
        btoa(hello.cert),
      ],
      env,
    );
    const ready = Number((await g.waitForLine(/"ready":(\d+)/, 15_000))[1]);
    console.log(`${label}: ${tree} ${JSON.stringify(env)}`);
    pairs.push({
      label,
      port: ready,
      pids: { host: h.pid, guest: g.pid },
      procs: [h, g],
      rates: { one: [], many: [] },
      cpu: new Map(),
      kernel: new Map(),
      busy: 0,
      steal: 0,
      wall: 0,
      bytes: 0,
      drops: 0,
    });
  }

  const client = async (port: number, what: string) => {
    const argv = [...RUN, RTC_HARNESS, "--role", "client", "--port", String(port), "--mb", what];
    const r = await exec(ns.ns, argv, { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`client ${what} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout).ms as number;
  };
  const rate = (ms: number) => mb * MB / 1e6 / (ms / 1000);
  const measured = async (p: Pair, what: string) => {
    await quiet(0.5, 1000, 20); // at least half idle: others benchmark here too
    const before = await cpuSnapshot(p.pids);
    const drops = await udpDrops(ns.ns);
    const ms = await client(p.port, what);
    p.drops += await udpDrops(ns.ns) - drops;
    const after = await cpuSnapshot(p.pids);
    for (const [k, v] of after.threads) {
      p.cpu.set(k, (p.cpu.get(k) ?? 0) + v - (before.threads.get(k) ?? 0));
      const sys = after.kernel.get(k)! - (before.kernel.get(k) ?? 0);
      p.kernel.set(k, (p.kernel.get(k) ?? 0) + sys);
    }
    p.busy += after.busy - before.busy;
    p.steal += after.steal - before.steal;
    p.wall += (after.at - before.at) / 1000;
    p.bytes += mb * MB;
    return rate(ms);
  };

  console.log(`raw TCP: ${rate(await client(srcPort, String(mb))).toFixed(1)} MB/s`);
  const each = mb / streams;
  for (let i = 0; i < runs; i++) {
    for (const p of pairs) {
      const one = await measured(p, String(mb));
      const many = await measured(p, `streams:${streams}x${each}`);
      p.rates.one.push(one);
      p.rates.many.push(many);
      console.log(
        `  ${p.label} run ${i + 1}: 1 stream ${one.toFixed(1)} MB/s, ` +
          `${streams} streams ${many.toFixed(1)} MB/s`,
      );
    }
  }
  for (const p of pairs) {
    const gb = p.bytes / 1e9;
    const sum = (m: Map<string, number>, who: string) =>
      [...m].filter(([k]) => k.startsWith(who + " ")).reduce((a, [, v]) => a + v, 0);
    const ours = (who: string) => sum(p.cpu, who);
    console.log(
      `${p.label}: 1 stream ${median(p.rates.one)} MB/s (${list(p.rates.one)}), ` +
        `${streams} streams ${median(p.rates.many)} MB/s (${list(p.rates.many)}); ` +
        `UDP drops ${p.drops}`,
    );
    const perGb = (s: number) => (s / gb).toFixed(2);
    console.log(
      `  CPU s/GB: host ${perGb(ours("host"))} (kernel ${perGb(sum(p.kernel, "host"))}), ` +
        `guest ${perGb(ours("guest"))} (kernel ${perGb(sum(p.kernel, "guest"))}), ` +
        `machine ${perGb(p.busy)} (steal ${perGb(p.steal)})`,
    );
    for (const who of ["host", "guest"]) {
      const parts = [...p.cpu].filter(([k, v]) => k.startsWith(who + " ") && v / gb > 0.02)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) =>
          `${k.slice(who.length + 1)} ${perGb(v)} (kernel ${perGb(p.kernel.get(k)!)})`
        );
      console.log(`    ${who.padEnd(5)} ${parts.join(", ")}`);
    }
    const [h, g] = [await peakRssMb(p.pids.host), await peakRssMb(p.pids.guest)];
    console.log(`  peak RSS: host ${h} MB, guest ${g} MB`);
    for (const proc of p.procs) {
      const lines = proc.stderr.trim().split("\n").filter(Boolean).slice(-5);
      for (const line of lines) console.log(`  ${proc === p.procs[0] ? "host" : "guest"}: ${line}`);
    }
  }
}

function median(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1].toFixed(1);
}

function list(xs: number[]): string {
  return xs.map((x) => x.toFixed(0)).join(", ");
}

function udpDrops(ns: string): Promise<number> {
  return udpCounter(ns, "RcvbufErrors");
}
