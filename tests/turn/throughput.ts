/**
 * TURN data-path harness (not a test): the built-in TURN server in a process
 * of its own, and two clients here that relay to each other through it the
 * way two WebRTC peers in relay mode do (each allocates, permits the other's
 * relayed address and binds a channel to it). Client A sends --mb of
 * --size-byte ChannelData messages, at most --window unanswered at a time;
 * each crosses the server twice (A's ChannelData out of A's relayed address,
 * then in at B's and on to B as ChannelData). Reports MB/s, the server's CPU
 * seconds per GB moved (user + system, from /proc), and messages lost.
 *
 *   deno run -A --unstable-net tests/turn/throughput.ts [--mb 64] [--runs 3]
 *     [--size 1200] [--window 256] [--transport udp|tcp] [--tree-a|b DIR]
 *
 * `--tree-a`/`--tree-b DIR` run the server from another checkout (e.g. `git
 * archive` of an older commit with node_modules linked); with a B the two take
 * turns run by run, so a slow spell on a shared machine hits both alike.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  ChannelNumber,
  getAttribute,
  RequestedTransport,
  setAttribute,
  StunClass,
  TRANSPORT_UDP,
  type TransportAddress,
  XorPeerAddress,
  XorRelayedAddress,
} from "../../lib/stun/mod.ts";
import { encodeChannelData, mintTurnCredentials, TurnMethod } from "../../lib/turn/mod.ts";
import { DENO } from "../_util/tun.ts";
import { TestTurnClient } from "./_client.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    role: { type: "string" },
    mb: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
    size: { type: "string", default: "1200" },
    window: { type: "string", default: "256" },
    transport: { type: "string", default: "udp" },
    "tree-a": { type: "string" },
    "tree-b": { type: "string" },
  },
});

const SECRET = "throughput secret";
const CHANNEL = 0x4001;

if (values.role === "server") {
  // Run from the tree under test: its lib/turn, not this file's.
  const tree = path.resolve(import.meta.dirname!, "../..");
  const { startTurnServer } = await import(path.join(tree, "lib/turn/mod.ts"));
  const server = await startTurnServer({
    hostname: "127.0.0.1",
    port: 0,
    realm: "bench",
    secret: SECRET,
    allowPrivatePeers: true,
  });
  console.log(JSON.stringify({ udp: server.udpPort, tcp: server.tcpPort }));
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => server.close().then(() => process.exit(0)));
} else {
  await main();
}

async function main() {
  const transport = values.transport as "udp" | "tcp";
  const trees = [{ label: "A", dir: values["tree-a"] }];
  if (values["tree-b"]) trees.push({ label: "B", dir: values["tree-b"] });
  const results: Record<string, { mbps: number; cpu: number; lost: number }[]> = {};
  for (let run = 0; run < Number(values.runs); run++) {
    for (const { label, dir } of trees) {
      const r = await once(dir, transport);
      (results[label] ??= []).push(r);
      console.log(
        `${label} run ${run + 1}: ${r.mbps.toFixed(1)} MB/s, server ${
          r.cpu.toFixed(2)
        } CPU s/GB, ` +
          `${r.lost} lost`,
      );
    }
  }
  for (const [label, rs] of Object.entries(results)) {
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(
      `${label} median: ${med(rs.map((r) => r.mbps)).toFixed(1)} MB/s, ` +
        `${med(rs.map((r) => r.cpu)).toFixed(2)} CPU s/GB`,
    );
  }
}

/** One run: a fresh server from `tree` (default this checkout), the transfer, the figures. */
async function once(tree: string | undefined, transport: "udp" | "tcp") {
  const self = tree ? path.resolve(tree, "tests/turn/throughput.ts") : import.meta.filename!;
  const child = spawn(DENO, ["run", "-A", "--unstable-net", self, "--role", "server"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const ports = await new Promise<{ udp: number; tcp: number }>((resolve, reject) => {
      child.stdout!.once("data", (line: Uint8Array) => {
        try {
          resolve(JSON.parse(new TextDecoder().decode(line)));
        } catch (err) {
          reject(err);
        }
      });
      child.once("exit", () => reject(new Error("server exited")));
    });
    const port = transport === "udp" ? ports.udp : ports.tcp;
    const connect = () => transport === "udp" ? TestTurnClient.udp(port) : TestTurnClient.tcp(port);
    await using a = await connect();
    await using b = await connect();
    const relayedA = await allocate(a, "a");
    const relayedB = await allocate(b, "b");
    await bind(a, relayedB);
    await bind(b, relayedA);
    return await transfer(a, b, transport, child.pid!);
  } finally {
    child.stdin!.end();
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

async function allocate(client: TestTurnClient, who: string) {
  const { username, password } = mintTurnCredentials(SECRET, who, 600);
  const { response } = await client.allocate(
    username,
    password,
    (m) => setAttribute(m, RequestedTransport, TRANSPORT_UDP),
  );
  const relayed = getAttribute(response, XorRelayedAddress);
  if (!relayed) throw new Error(`${who}: Allocate failed`);
  return relayed;
}

async function bind(client: TestTurnClient, peer: TransportAddress) {
  const r = await client.signed(TurnMethod.ChannelBind, (m) => {
    setAttribute(m, ChannelNumber, CHANNEL);
    setAttribute(m, XorPeerAddress, peer);
  });
  if (r.class !== StunClass.SuccessResponse) throw new Error("ChannelBind failed");
}

async function transfer(
  a: TestTurnClient,
  b: TestTurnClient,
  transport: "udp" | "tcp",
  serverPid: number,
) {
  const size = Number(values.size);
  const window = Number(values.window);
  const total = Math.ceil(Number(values.mb) * 1e6 / size);
  const message = encodeChannelData(CHANNEL, new Uint8Array(size), transport === "tcp");
  const cpu0 = cpuSeconds(serverPid);
  const t0 = performance.now();
  let sent = 0, received = 0, lost = 0;
  while (received + lost < total) {
    while (sent < total && sent - received - lost < window) {
      a.sendRaw(message);
      sent++;
    }
    // Drain what arrived; a window that makes no progress for 50 ms was lost.
    const before = received;
    const deadline = performance.now() + 50;
    while (received === before && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      while (b.queued > 0) {
        await b.next();
        received++;
      }
    }
    if (received === before) lost = sent - received;
  }
  const seconds = (performance.now() - t0) / 1000;
  const bytes = received * size;
  return { mbps: bytes / 1e6 / seconds, cpu: (cpuSeconds(serverPid) - cpu0) / (bytes / 1e9), lost };
}

/** User + system CPU seconds of `pid` so far (/proc counts in 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
