/**
 * One benchmark run: a 256 MB download and 1,000 sequential small GETs, over
 * raw loopback TCP and through the tunnel (relay, host and guest as separate
 * processes in a private network namespace). Prints figures; asserts nothing.
 *
 *   scripts/bench [--mb 256] [--gets 1000]
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { createLoopbackNs } from "../tests/_util/netns_lo.ts";
import {
  client,
  isRoot,
  randomFile,
  startApp,
  startGuest,
  startHost,
  startRelay,
} from "../tests/_util/tun.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { mb: { type: "string", default: "256" }, gets: { type: "string", default: "1000" } },
});
const mb = Number(values.mb);
const gets = Number(values.gets);
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

  const measure = async (port: number) => {
    const d = await client(net.ns, ["download", String(port), blob.name], 600_000);
    if (d.sha256 !== blob.sha256) throw new Error(`download through port ${port} was corrupted`);
    const l = await client(net.ns, ["latency", String(port), String(gets)], 600_000);
    return {
      mbps: (mb * 1024 * 1024) / 1e6 / (Number(d.ms) / 1000),
      p50: Number(l.p50_ms),
      p99: Number(l.p99_ms),
    };
  };
  const raw = await measure(appPort);
  const tunnel = await measure(guest.info.port);
  const rssKb = async (proc: { pid: number }) => {
    try {
      const status = await Deno.readTextFile(`/proc/${proc.pid}/status`);
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  const row = (label: string, a: string, b: string) =>
    console.log(`${label.padEnd(26)}${a.padStart(12)}${b.padStart(16)}`);
  console.log(`tun bench: ${mb} MB download, ${gets} sequential GETs (one keep-alive connection)`);
  console.log(
    `path ${guest.info.path} (${guest.info.local_candidate} ↔ ${guest.info.remote_candidate}), private netns, loopback`,
  );
  row("", "raw TCP", "tun tunnel");
  row(`${mb} MB download`, `${raw.mbps.toFixed(1)} MB/s`, `${tunnel.mbps.toFixed(1)} MB/s`);
  row(`${gets} GETs p50`, `${raw.p50.toFixed(3)} ms`, `${tunnel.p50.toFixed(3)} ms`);
  row(`${gets} GETs p99`, `${raw.p99.toFixed(3)} ms`, `${tunnel.p99.toFixed(3)} ms`);
  row("p2p-join → ready", "-", `${guest.info.wall_ms} ms`);
  // Peak memory of the tun processes (the wrapper `ip netns exec` execs into deno).
  row(
    "peak RSS host / guest",
    "-",
    `${Math.round(await rssKb(host.proc) / 1024)} / ${
      Math.round(await rssKb(guest.proc) / 1024)
    } MB`,
  );
} finally {
  await Deno.remove(blob.dir, { recursive: true });
}
