/**
 * One benchmark run, one table: the same work over every way of reaching a
 * local HTTP app: raw loopback TCP (the limit), a socat forwarder, ssh -L
 * (OpenSSH on loopback), tun direct over a WebRTC DataChannel, tun direct over
 * QUIC, and tun through the relay (TURN, and QUIC's splice). Each row starts its
 * own processes (relay, host and guest separate, as users run them), measures,
 * and stops them. Under the table: issue 8's targets from the same run.
 *
 *   scripts/bench [--quick] [--json] [--mb 256] [--runs 3] [--requests 1000] [--rps-seconds 10]
 *     [--rows KEY,KEY]
 *
 * Per row (scripts/benchkit/measure.ts): MB/s of one 256 MB download (median of
 * --runs) and of 8 parallel 32 MB downloads (curl); p50/p99 of 1,000 sequential
 * small GETs on one keep-alive connection (curl); requests per second at 64
 * concurrent connections (wrk); ms from starting the forwarder to the first
 * response byte; peak RSS of each side; the relay's CPU seconds per GB
 * downloaded, in relay mode. --quick: 32 MB, one run, 200 GETs, 2 s of wrk.
 * --json: one JSON object with every figure instead of the table. --rows: only
 * those rows (keys: raw, socat, ssh, dc, quic, relay, quic-relay), and no
 * first-byte runs across NATs.
 *
 * Needs root (network namespaces, the NAT lab); scripts/bench installs curl,
 * socat, wrk, openssh and iptables when missing.
 */
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { isRoot, randomFile } from "../tests/_util/tun.ts";
import { type BenchFile, measure, type Workload } from "./benchkit/measure.ts";
import { loopbackNet, natNet, type Net } from "./benchkit/nets.ts";
import { type Path, rawTcp, socat, sshForward, tun } from "./benchkit/paths.ts";
import { type FirstByte, machine, type Row, targets, textReport } from "./benchkit/report.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    mb: { type: "string" },
    runs: { type: "string" },
    requests: { type: "string" },
    "rps-seconds": { type: "string" },
    rows: { type: "string" },
  },
});
if (!isRoot()) {
  console.error("bench: needs root (it runs in private network namespaces)");
  process.exit(1);
}

const MiB = 1024 * 1024;
const quick = values.quick;
const mb = Number(values.mb ?? (quick ? 32 : 256));
const plan = {
  mb,
  runs: Number(values.runs ?? (quick ? 1 : 3)),
  requests: Number(values.requests ?? (quick ? 200 : 1000)),
  rpsSeconds: Number(values["rps-seconds"] ?? (quick ? 2 : 10)),
  streams: 8,
  connections: 64,
  idle: 100,
};

/** Fixed ports below the ephemeral range (32768-60999): free by construction in our namespaces. */
const PORT = { socat: 20001, ssh: 20002, sshd: 20022, dc: 20003, quic: 20004, nat: 20005 };
const QUIC = ["--transport", "quic"];

/** One table row: which network it runs in and how its path is made there. */
interface RowSpec {
  key: string;
  label: string;
  open(net: Net): Promise<Path>;
}

const LOOPBACK_ROWS: RowSpec[] = [
  { key: "raw", label: "raw TCP", open: (n) => Promise.resolve(rawTcp(n.app)) },
  { key: "socat", label: "socat", open: (n) => socat(n.app, PORT.socat) },
  { key: "ssh", label: "ssh -L", open: (n) => sshForward(n.app, PORT.ssh, PORT.sshd) },
  {
    key: "dc",
    label: "tun DataChannel direct",
    open: (n) => tun(n.app, { ...tunIn(n), port: PORT.dc, expect: "direct" }),
  },
  {
    key: "quic",
    label: "tun QUIC direct",
    open: (n) => tun(n.app, { ...tunIn(n), port: PORT.quic, guestArgs: QUIC, expect: "direct" }),
  },
];

const RELAY_ROWS: RowSpec[] = [
  {
    key: "relay",
    label: "tun relay (TURN)",
    open: (n) => tun(n.app, { ...tunIn(n), port: PORT.dc, expect: "relay" }),
  },
  {
    key: "quic-relay",
    label: "tun QUIC relay (splice)",
    open: (n) => tun(n.app, { ...tunIn(n), port: PORT.quic, guestArgs: QUIC, expect: "relay" }),
  },
];

function tunIn(n: Net) {
  return { relay: n.relay, hostNs: n.hostNs, guestNs: n.guestNs };
}

function progress(text: string) {
  console.error(`bench: ${text}`);
}

/** Open a row's path, do the work on it, stop it. A row that fails is reported, not fatal. */
async function runRow(spec: RowSpec, net: Net, work: Workload): Promise<Row> {
  progress(`${spec.label} ...`);
  const t0 = performance.now();
  const row: Row = {
    key: spec.key,
    label: spec.label,
    where: net.description,
    detail: "",
    figures: null,
  };
  try {
    await using p = await spec.open(net);
    row.detail = p.detail;
    row.figures = await measure(p, work);
  } catch (err) {
    row.error = (err as Error).message.split("\n")[0];
    progress(`${spec.label} could not be measured: ${(err as Error).message}`);
  }
  progress(`${spec.label} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return row;
}

/** Only the time to first byte of a direct path across two port-restricted NATs. */
async function firstByteAcrossNats(
  net: Net & { directGuestNs: string },
  quic: boolean,
): Promise<FirstByte> {
  const what = `${quic ? "QUIC" : "DataChannel"} direct, two port-restricted NATs (lab)`;
  try {
    await using p = await tun(net.app, {
      ...tunIn(net),
      guestNs: net.directGuestNs,
      port: PORT.nat,
      guestArgs: quic ? QUIC : [],
      expect: "direct",
    });
    return { what, ms: p.firstByteMs ?? null, detail: p.detail };
  } catch (err) {
    return { what, ms: null, detail: `not measured: ${(err as Error).message.split("\n")[0]}` };
  }
}

/** The 256 MB file and the 32 MB file (an eighth, for the parallel streams), in one dir. */
async function makeFiles(): Promise<{ dir: string; big: BenchFile; part: BenchFile }> {
  const big = await randomFile(mb * MiB);
  const part = await randomFile(mb * MiB / plan.streams);
  await Deno.rename(path.join(part.dir, part.name), path.join(big.dir, "part.bin"));
  await Deno.remove(part.dir, { recursive: true });
  return {
    dir: big.dir,
    big: { name: big.name, bytes: mb * MiB, sha256: big.sha256 },
    part: { name: "part.bin", bytes: mb * MiB / plan.streams, sha256: part.sha256 },
  };
}

const only = values.rows ? new Set(values.rows.split(",")) : null;
const chosen = (specs: RowSpec[]) => specs.filter((s) => !only || only.has(s.key));

const started = performance.now();
const host = await machine();
const files = await makeFiles();
const removeFiles = () => {
  try {
    Deno.removeSync(files.dir, { recursive: true });
  } catch { /* removed already */ }
};
// Interrupted: still remove the files ("exit" also runs the namespaces' cleanup).
process.on("exit", removeFiles);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
const rows: Row[] = [];
const acrossNats: FirstByte[] = [];
try {
  const work: Workload = { ...plan, big: files.big, part: files.part };
  {
    await using net = await loopbackNet(files.dir);
    for (const spec of chosen(LOOPBACK_ROWS)) rows.push(await runRow(spec, net, work));
  }
  if (!only || chosen(RELAY_ROWS).length > 0) {
    await using net = await natNet(files.dir);
    for (const spec of chosen(RELAY_ROWS)) rows.push(await runRow(spec, net, work));
    if (!only) {
      progress("time to first byte across two NATs ...");
      acrossNats.push(await firstByteAcrossNats(net, false), await firstByteAcrossNats(net, true));
    }
  }
} finally {
  removeFiles();
}
const fromRow = (key: string, what: string): FirstByte => {
  const row = rows.find((r) => r.key === key);
  return { what, ms: row?.figures?.firstByteMs ?? null, detail: row?.detail ?? "not run" };
};
const RELAY_NATS = "symmetric vs port-restricted NAT (lab)";
const firstBytes = [
  fromRow("dc", "DataChannel direct, no NAT (loopback)"),
  fromRow("quic", "QUIC direct, no NAT (loopback)"),
  ...acrossNats,
  fromRow("relay", `DataChannel relay, ${RELAY_NATS}`),
  fromRow("quic-relay", `QUIC relay, ${RELAY_NATS}`),
];
report(rows, firstBytes, Math.round((performance.now() - started) / 1000));

function report(rows: Row[], firstBytes: FirstByte[], seconds: number) {
  const m = host;
  const goals = targets(rows, firstBytes, plan.idle);
  if (values.json) {
    const all = { machine: m, plan, rows, first_byte: firstBytes, targets: goals, seconds };
    console.log(JSON.stringify(all));
  } else {
    console.log(textReport({ machine: m, plan, quick, rows, targets: goals, seconds }));
  }
}
