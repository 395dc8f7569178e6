/**
 * Interop: coturn's own test client, turnutils_uclient (Debian package
 * `coturn`), against the built-in server over UDP and over TCP. scripts/test
 * installs coturn; when the binary is missing these tests fail, they do not
 * skip, so a green run always means the interop was checked.
 *
 * Exact command lines (PORT, PEER, USER, PASS, SECRET filled in below):
 *
 *   UDP, two clients relaying to each other through channels, each with an
 *   RTP/RTCP allocation pair (EVEN-PORT with R, then RESERVATION-TOKEN):
 *     turnutils_uclient -y -n 20 -l 101 -u USER -w PASS -p PORT 127.0.0.1
 *   UDP, Send/Data indications to coturn's echo peer, credentials from -W:
 *     turnutils_uclient -s -c -e 127.0.0.1 -r PEER -n 20 -W SECRET -u uclient -p PORT 127.0.0.1
 *   TCP, the same two-client channel flow (ChannelData padded to 4 bytes):
 *     turnutils_uclient -t -y -n 20 -l 101 -u USER -w PASS -p PORT 127.0.0.1
 *   TCP, channels to the echo peer:
 *     turnutils_uclient -t -c -e 127.0.0.1 -r PEER -n 20 -l 33 -W SECRET -u uclient -p PORT 127.0.0.1
 *
 * uclient exits 0 even when packets are lost, so success is read from its
 * report: the final "tot_send_msgs=N, tot_recv_msgs=M" must have N > 0 and
 * M = N, "Total lost packets" must be 0, and no line may report an error.
 *
 * The server runs with `legacyChannelNumbers`: uclient 4.6.1 picks channel
 * numbers at random from RFC 5766's 0x4000-0x7FFF (coturn narrowed this to
 * RFC 8656's 0x4000-0x4FFF only in 4.16).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { existsSync } from "node:fs";
import process from "node:process";
import { mintTurnCredentials, startTurnServer } from "../../lib/turn/mod.ts";

const SECRET = "uclient interop secret";

/** Absolute path of a program on PATH, or a failure naming what to install. */
function program(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new Error(
    `${name} is not installed: the TURN interop test needs coturn's client tools ` +
      `(Debian: apt-get install -y coturn; scripts/test installs it)`,
  );
}

interface Run {
  command: string;
  code: number | null;
  output: string;
}

/** Run to completion (killed after `timeoutMs`), stdout and stderr together. */
function run(file: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  const command = [file.split("/").pop(), ...args].join(" ");
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Uint8Array) => output += new TextDecoder().decode(d));
    child.stderr!.on("data", (d: Uint8Array) => output += new TextDecoder().decode(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ command, code, output });
    });
  });
}

/** uclient's verdict, from its closing report (see the file comment). */
function assertDelivered(result: Run): void {
  const context = `${result.command}\n${result.output}`;
  assert.equal(result.code, 0, `exit code ${result.code}:\n${context}`);
  const totals = [...result.output.matchAll(/tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/gm)];
  assert.ok(totals.length > 0, `no totals line:\n${context}`);
  const [, sent, received] = totals[totals.length - 1].map(Number);
  assert.ok(sent > 0, `nothing sent:\n${context}`);
  assert.equal(received, sent, `received ${received} of ${sent}:\n${context}`);
  const lost = /Total lost packets (\d+)/.exec(result.output);
  assert.equal(lost?.[1], "0", `lost packets:\n${context}`);
  assert.doesNotMatch(result.output, /\berror\b|cannot|\!\!\!/i, context);
}

/** A UDP port p with p + 1 free too (turnutils_peer also binds p + 1). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const a = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => a.bind(0, "127.0.0.1", resolve));
    const port = a.address().port;
    const b = dgram.createSocket("udp4");
    const ok = port < 65535 && await new Promise<boolean>((resolve) => {
      b.once("error", () => resolve(false));
      b.bind(port + 1, "127.0.0.1", () => resolve(true));
    });
    await Promise.all([a, b].map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok) return port;
  }
}

/** coturn's UDP echo peer on 127.0.0.1:port, answering before this resolves. */
async function startEchoPeer(port: number): Promise<AsyncDisposable> {
  const child: ChildProcess = spawn(
    program("turnutils_peer"),
    ["-L", "127.0.0.1", "-p", `${port}`],
    {
      stdio: "ignore",
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const probe = dgram.createSocket("udp4");
  try {
    const answered = new Promise<void>((resolve) => probe.once("message", () => resolve()));
    const deadline = Date.now() + 5000;
    let done = false;
    answered.then(() => done = true);
    while (!done) {
      assert.ok(Date.now() < deadline, "turnutils_peer did not start echoing within 5 s");
      probe.send(new Uint8Array([1]), port, "127.0.0.1");
      await Promise.race([answered, new Promise((r) => setTimeout(r, 50))]);
    }
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function interop(transport: "udp" | "tcp") {
  const uclient = program("turnutils_uclient");
  const internal: unknown[] = [];
  await using server = await startTurnServer({
    hostname: "127.0.0.1",
    port: 0,
    realm: "tun.test",
    secret: SECRET,
    legacyChannelNumbers: true,
    // The echo peer is on loopback.
    allowPrivatePeers: true,
    onInternalError: (err) => internal.push(err),
  });
  const peerPort = await freePortPair();
  await using _peer = await startEchoPeer(peerPort);
  const { username, password } = mintTurnCredentials(SECRET, "uclient", 600);
  const port = server.udpPort; // uclient uses one -p for UDP and TCP; ours is the same number
  assert.equal(server.tcpPort, port);

  const pairwise = transport === "udp"
    ? ["-y", "-n", "20", "-l", "101", "-u", username, "-w", password, "-p", `${port}`, "127.0.0.1"]
    : [
      "-t",
      "-y",
      "-n",
      "20",
      "-l",
      "101",
      "-u",
      username,
      "-w",
      password,
      "-p",
      `${port}`,
      "127.0.0.1",
    ];
  const toPeer = transport === "udp"
    ? [
      "-s",
      "-c",
      "-e",
      "127.0.0.1",
      "-r",
      `${peerPort}`,
      "-n",
      "20",
      "-W",
      SECRET,
      "-u",
      "uclient",
      "-p",
      `${port}`,
      "127.0.0.1",
    ]
    : [
      "-t",
      "-c",
      "-e",
      "127.0.0.1",
      "-r",
      `${peerPort}`,
      "-n",
      "20",
      "-l",
      "33",
      "-W",
      SECRET,
      "-u",
      "uclient",
      "-p",
      `${port}`,
      "127.0.0.1",
    ];
  // Both at once: uclient idles 1-6 s before sending, and the server serves both.
  const results = await Promise.all([run(uclient, pairwise), run(uclient, toPeer)]);
  for (const result of results) assertDelivered(result);
  assert.deepEqual(internal, []);
}

Deno.test("coturn's turnutils_uclient relays through the built-in server over UDP", async () => {
  await interop("udp");
});

Deno.test("coturn's turnutils_uclient relays through the built-in server over TCP", async () => {
  await interop("tcp");
});
