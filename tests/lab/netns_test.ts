/**
 * Proves the NAT lab behaves like the NATs it claims to be, without any tun code:
 * small node programs (below) observe mappings and filtering from both sides, and
 * the teardown tests show nothing outlives a lab, even when a test fails or its
 * process is killed.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { createLab, type Lab, LAB_PREFIX, type RouterKind } from "./netns.ts";

const isRoot = process.getuid?.() === 0;
const SERVICE_PORT = 3478;
const OTHER_PORT = 3479;

/**
 * Runs in the internet namespace. UDP on ip:3478 and ip:3479 answers every
 * datagram with "seen <port> <sender address:port>". A "probe" also triggers two
 * unsolicited datagrams to the sender's mapping: one from ip:3479 (same address,
 * other port) and one from altIp:3478 (other address). TCP on ip:3478 writes
 * "seen tcp <sender>" and closes.
 */
const SERVER = `
import dgram from "node:dgram";
import net from "node:net";
const { ip, altIp, port, otherPort } = JSON.parse(process.env.LAB_CONFIG);
const bind = (port, address) => new Promise((resolve) => {
  const socket = dgram.createSocket("udp4");
  socket.bind(port, address, () => resolve(socket));
});
const [main, other, alt] = await Promise.all(
  [bind(port, ip), bind(otherPort, ip), bind(port, altIp)],
);
for (const socket of [main, other]) {
  socket.on("message", (msg, from) => {
    socket.send("seen " + socket.address().port + " " + from.address + ":" + from.port,
      from.port, from.address);
    if (String(msg) === "probe") {
      other.send("unsolicited from other port", from.port, from.address);
      alt.send("unsolicited from other address", from.port, from.address);
    }
  });
}
const tcp = net.createServer((c) => c.end("seen tcp " + c.remoteAddress + ":" + c.remotePort));
await new Promise((resolve) => tcp.listen(port, ip, resolve));
console.log("ready");
`;

/**
 * Runs on a site host. From one UDP socket: "probe" to 3478, then "echo" to 3479;
 * then one TCP connection to 3478. Prints what came back as one JSON line.
 */
const CLIENT = `
import dgram from "node:dgram";
import net from "node:net";
const { ip, port, otherPort } = JSON.parse(process.env.LAB_CONFIG);
const socket = dgram.createSocket("udp4");
await new Promise((resolve) => socket.bind(0, resolve));
const seen = {};
const unsolicited = [];
let onSeen = () => {};
socket.on("message", (msg) => {
  const text = String(msg);
  const m = /^seen (\\d+) (\\S+)$/.exec(text);
  if (m) { seen[m[1]] = m[2]; onSeen(); } else unsolicited.push(text);
});
const ask = (text, to) => new Promise((resolve) => {
  const timer = setTimeout(resolve, 500);
  onSeen = () => { clearTimeout(timer); resolve(); };
  socket.send(text, to, ip);
});
await ask("probe", port);
await new Promise((resolve) => setTimeout(resolve, 200)); // let unsolicited datagrams arrive
await ask("echo", otherPort);
socket.close();
const tcp = await new Promise((resolve) => {
  const c = net.connect(port, ip);
  let text = "";
  c.on("data", (d) => text += d);
  c.on("end", () => resolve(text.replace(/^seen tcp /, "")));
  c.on("error", () => resolve(null));
});
console.log(JSON.stringify({
  udp: seen[port] ?? null, udpOther: seen[otherPort] ?? null, unsolicited: unsolicited.sort(), tcp,
}));
`;

/**
 * Runs on a site host. Learns its mapping from the server ("mapped A:P"), reads
 * "peer A:P" on stdin, then sends "punch" there every 50 ms and prints
 * "received punch from A:P" for each punch that arrives.
 */
const PUNCHER = `
import dgram from "node:dgram";
import readline from "node:readline";
const { ip, port } = JSON.parse(process.env.LAB_CONFIG);
const socket = dgram.createSocket("udp4");
await new Promise((resolve) => socket.bind(0, resolve));
socket.on("message", (msg, from) => {
  const text = String(msg);
  if (text.startsWith("seen ")) console.log("mapped " + text.split(" ")[2]);
  if (text === "punch") console.log("received punch from " + from.address + ":" + from.port);
});
socket.send("echo", port, ip);
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [address, peerPort] = line.replace(/^peer /, "").split(":");
  setInterval(() => socket.send("punch", Number(peerPort), address), 50);
}
`;

/** Prints "ready", then "got <text>" for each datagram to 0.0.0.0:5000. */
const LISTENER = `
import dgram from "node:dgram";
const socket = dgram.createSocket("udp4");
socket.on("message", (msg) => console.log("got " + msg));
socket.bind(5000, () => console.log("ready"));
`;

/** Sends its argument as a datagram to 5000 on the address in TARGET, three times. */
const SENDER = `
import dgram from "node:dgram";
const socket = dgram.createSocket("udp4");
for (let i = 0; i < 3; i++) socket.send(process.env.TEXT, 5000, process.env.TARGET);
setTimeout(() => socket.close(), 50);
`;

function node(script: string): string[] {
  return ["node", "--input-type=module", "-e", script];
}

function config(lab: Lab) {
  const { ip, altIp } = lab.internet;
  return { LAB_CONFIG: JSON.stringify({ ip, altIp, port: SERVICE_PORT, otherPort: OTHER_PORT }) };
}

interface Observation {
  udp: string | null;
  udpOther: string | null;
  unsolicited: string[];
  tcp: string | null;
}

const FROM_OTHER_PORT = "unsolicited from other port";
const FROM_OTHER_ADDRESS = "unsolicited from other address";

/** What a host at each kind of site must observe (RFC 4787 terms in nat.ts). */
const EXPECTED: Record<RouterKind, {
  udp: boolean;
  sameMapping: boolean;
  unsolicited: string[];
}> = {
  "none": { udp: true, sameMapping: true, unsolicited: [FROM_OTHER_ADDRESS, FROM_OTHER_PORT] },
  "full-cone": {
    udp: true,
    sameMapping: true,
    unsolicited: [FROM_OTHER_ADDRESS, FROM_OTHER_PORT],
  },
  "address-restricted": { udp: true, sameMapping: true, unsolicited: [FROM_OTHER_PORT] },
  "port-restricted": { udp: true, sameMapping: true, unsolicited: [] },
  "symmetric": { udp: true, sameMapping: false, unsolicited: [] },
  "udp-blocked": { udp: false, sameMapping: false, unsolicited: [] },
};

Deno.test({
  name: "each kind of site maps and filters UDP as its NAT kind says",
  ignore: !isRoot,
  async fn() {
    const kinds = Object.keys(EXPECTED) as RouterKind[];
    const sites = Object.fromEntries(kinds.map((kind) => [siteName(kind), kind]));
    const started = performance.now();
    await using lab = await createLab({ sites });
    const createMs = performance.now() - started;
    // A figure to read, not a target: speed belongs in scripts/bench.
    console.log(`  lab of ${kinds.length} sites created in ${createMs.toFixed(0)} ms`);

    await using server = lab.spawn(lab.internet.ns, node(SERVER), { env: config(lab) });
    await server.waitForLine(/^ready$/);

    await Promise.all(kinds.map(async (kind) => {
      const site = lab.site(siteName(kind));
      const result = await lab.exec(site.ns, node(CLIENT), { env: config(lab) });
      assert.equal(result.code, 0, `${kind}: client failed: ${result.stderr}`);
      const seen: Observation = JSON.parse(result.stdout);
      const expected = EXPECTED[kind];
      const what = `${kind}: ${result.stdout}`;

      assert.equal(seen.tcp?.split(":")[0], site.publicIp, `${what}: TCP source address`);
      assert.deepEqual(seen.unsolicited, expected.unsolicited, `${what}: filtering`);
      if (!expected.udp) {
        assert.deepEqual([seen.udp, seen.udpOther], [null, null], `${what}: UDP must not pass`);
        return;
      }
      assert.ok(seen.udp && seen.udpOther, `${what}: no UDP answer`);
      const [[ipA, portA], [ipB, portB]] = [seen.udp, seen.udpOther].map((s) => s.split(":"));
      assert.deepEqual([ipA, ipB], [site.publicIp, site.publicIp], `${what}: mapped address`);
      assert.equal(portA === portB, expected.sameMapping, `${what}: mapping per destination`);
    }));
  },
});

Deno.test({
  name: "two port-restricted sites can hole-punch, a symmetric and a port-restricted cannot",
  ignore: !isRoot,
  async fn() {
    await using lab = await createLab({
      sites: { alice: "port-restricted", bob: "port-restricted", carol: "symmetric" },
    });
    await using server = lab.spawn(lab.internet.ns, node(SERVER), { env: config(lab) });
    await server.waitForLine(/^ready$/);

    const punch = async (a: string, b: string) => {
      const peers = [a, b].map((name) =>
        lab.spawn(lab.site(name).ns, node(PUNCHER), { env: config(lab) })
      );
      try {
        const mapped = await Promise.all(peers.map((p) => p.waitForLine(/^mapped (\S+)$/)));
        peers[0].write(`peer ${mapped[1][1]}\n`);
        peers[1].write(`peer ${mapped[0][1]}\n`);
        const received = await Promise.allSettled(
          peers.map((p) => p.waitForLine(/^received punch from (\S+)$/, 1_500)),
        );
        // A punch that arrives must come from the peer's mapping, not a private address.
        received.forEach((r, i) => {
          if (r.status === "fulfilled") assert.equal(r.value[1], mapped[1 - i][1]);
        });
        return received.map((r) => r.status === "fulfilled");
      } finally {
        await Promise.all(peers.map((p) => p.kill()));
      }
    };

    assert.deepEqual(await punch("alice", "bob"), [true, true]);
    assert.deepEqual(await punch("carol", "alice"), [false, false]);
  },
});

Deno.test({
  name: "a private address behind a NAT is unreachable from the internet, even routed to",
  ignore: !isRoot,
  async fn() {
    const kinds = (Object.keys(EXPECTED) as RouterKind[]).filter((kind) => kind !== "none");
    await using lab = await createLab({
      sites: Object.fromEntries(kinds.map((kind) => [siteName(kind), kind])),
    });
    await Promise.all(kinds.map(async (kind) => {
      const site = lab.site(siteName(kind));
      await using listener = lab.spawn(site.ns, node(LISTENER));
      await listener.waitForLine(/^ready$/);
      const lan = site.ip.replace(/\.2$/, ".0/24");
      const route = ["ip", "route", "add", lan, "via", site.publicIp];
      assert.equal((await lab.exec(lab.internet.ns, route)).code, 0);
      const send = (ns: string, text: string) =>
        lab.exec(ns, node(SENDER), { env: { TARGET: site.ip, TEXT: text } });
      await send(lab.internet.ns, "from internet");
      await send(site.routerNs!, "from router"); // control: the listener does receive
      await listener.waitForLine(/^got from router$/);
      assert.deepEqual(listener.lines.filter((l) => l.startsWith("got from internet")), [], kind);
    }));
  },
});

Deno.test({
  name: "closing a lab removes its namespaces and processes even when the test body throws",
  ignore: !isRoot,
  async fn() {
    let prefix = "";
    let pids: number[] = [];
    await assert.rejects(async () => {
      await using lab = await createLab({ sites: { a: "port-restricted", b: "none" } });
      prefix = lab.prefix;
      // A shell that starts a grandchild: both must die with the lab.
      const shell = lab.spawn(lab.site("a").ns, ["sh", "-c", "sleep 60 & echo $!; wait"]);
      const grandchild = await shell.waitForLine(/^(\d+)$/);
      pids = [shell.pid, Number(grandchild[1])];
      assert.deepEqual(pids.map(isRunning), [true, true]);
      throw new Error("test body failed");
    }, /test body failed/);

    assert.match(prefix, new RegExp(`^${LAB_PREFIX}${process.pid}-`));
    assert.deepEqual(labNamespaces(prefix), []);
    assert.deepEqual(pids.map(isRunning), [false, false]);
  },
});

Deno.test({
  name: "an interrupted lab owner tears down on SIGTERM, and a killed one is swept later",
  ignore: !isRoot,
  async fn() {
    const owner = async () => {
      const script = `
        import { createLab } from ${JSON.stringify(new URL("./netns.ts", import.meta.url).href)};
        const lab = await createLab({ sites: { a: "symmetric" } });
        console.log(lab.prefix);
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ["eval", script], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const exited = new Promise((resolve) => child.on("close", resolve));
      const prefix = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("\n")) resolve(out.trim());
        });
        child.stderr!.on("data", (d) => out += d);
        child.on("close", () => reject(new Error(`lab owner exited early: ${out}`)));
      });
      assert.equal(labNamespaces(prefix).length, 3);
      return { child, exited, prefix };
    };

    const interrupted = await owner();
    interrupted.child.kill("SIGTERM");
    await interrupted.exited;
    assert.deepEqual(labNamespaces(interrupted.prefix), []);

    const crashed = await owner();
    crashed.child.kill("SIGKILL");
    await crashed.exited;
    assert.equal(labNamespaces(crashed.prefix).length, 3, "SIGKILL leaves the namespaces");
    await using _lab = await createLab({ sites: {} });
    assert.deepEqual(labNamespaces(crashed.prefix), []);
  },
});

Deno.test({
  name: "createLab refuses bad options before creating anything",
  ignore: !isRoot,
  async fn() {
    const before = labNamespaces(`${LAB_PREFIX}${process.pid}-`);
    const cases: [Record<string, string>, RegExp][] = [
      [{ a: "carrier-grade" }, /unknown router kind "carrier-grade"/],
      [{ "Bad-Name": "none" }, /site name "Bad-Name"/],
      [{ internet: "none" }, /site name "internet"/],
    ];
    for (const [sites, message] of cases) {
      await assert.rejects(createLab({ sites: sites as Record<string, RouterKind> }), message);
    }
    assert.deepEqual(labNamespaces(`${LAB_PREFIX}${process.pid}-`), before);
  },
});

function siteName(kind: RouterKind): string {
  return kind.replaceAll("-", "").slice(0, 12);
}

function labNamespaces(prefix: string): string[] {
  const out = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
  return out.split("\n").map((l) => l.split(" ")[0]).filter((ns) => ns.startsWith(prefix));
}

/** True while `pid` exists and is not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
