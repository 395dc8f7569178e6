/**
 * Interop: coturn's RFC 5780 client, turnutils_natdiscovery (Debian package
 * `coturn`, 4.6.1), against the behaviour server on 127.0.0.1 and 127.0.0.2.
 * When the binary is missing these tests fail, they do not skip, so a green
 * run always means the interop was checked.
 *
 * Exact command lines (P1 = the server's port, filled in below):
 *
 *   mapping (§4.3), filtering (§4.4) and hairpinning (§3.4):
 *     turnutils_natdiscovery -m -f -H -p P1 127.0.0.1
 *   the same with 1500 bytes of PADDING in every request (§7.6):
 *     turnutils_natdiscovery -m -f -P -p P1 127.0.0.1
 *   mapping lifetime (§4.6), whose second request carries RESPONSE-PORT (§7.5):
 *     turnutils_natdiscovery -t -T 1 -p P1 127.0.0.1
 *   collision, from a second local address on the same port:
 *     turnutils_natdiscovery -c -A 127.0.0.3 -p P1 127.0.0.1
 *
 * natdiscovery prints each answer that carries OTHER-ADDRESS as "RFC 5780
 * response N" followed by its attributes, a boxed verdict per test, and
 * "STUN receive timeout.." for a request with no answer within 3 s.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { type BehaviourServer, startBehaviourServer } from "../../lib/stun/mod.ts";

/** Absolute path of a program on PATH, or a failure naming what to install. */
function program(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new Error(
    `${name} is not installed: the RFC 5780 interop test needs coturn's client tools ` +
      `(Debian: apt-get install -y coturn; scripts/test installs it)`,
  );
}

/** Run natdiscovery against `server` to completion; its stdout, after checking it exited 0. */
function natdiscovery(server: BehaviourServer, args: string[]): Promise<string> {
  const argv = [...args, "-p", String(server.port), server.primaryHost];
  return new Promise((resolve, reject) => {
    const child = spawn(program("turnutils_natdiscovery"), argv, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (d: Uint8Array) => output += new TextDecoder().decode(d));
    child.stderr!.on("data", (d: Uint8Array) => output += new TextDecoder().decode(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const context = `turnutils_natdiscovery ${argv.join(" ")}\n${output}`;
      if (code !== 0) reject(new Error(`exit code ${code}:\n${context}`));
      else resolve(context);
    });
  });
}

/** Every "<label>: <ip:port>" natdiscovery printed, in order. */
function addresses(output: string, label: string): string[] {
  const pattern = new RegExp(`${label}:?\\s*:?\\s*([\\d.]+:\\d+)`, "g");
  return [...output.matchAll(pattern)].map((m) => m[1]);
}

function startTwoAddressServer() {
  return startBehaviourServer({
    primaryHost: "127.0.0.1",
    altHost: "127.0.0.2",
    port: 0,
    altPort: 0,
  });
}

Deno.test("natdiscovery finds loopback endpoint-independent and hairpinning through our answers", async () => {
  await using server = await startTwoAddressServer();
  const out = await natdiscovery(server, ["-m", "-f", "-H"]);
  assert.match(out, /NAT with Endpoint Independent Mapping!/, out);
  assert.match(out, /NAT with Endpoint Independent Filtering!/, out);
  assert.match(out, /Received a request \(maybe a successful hairpinning\)/, out);
  assert.doesNotMatch(out, /timeout|error|ALG detected|not received/i, out);
  // Hairpinning 1, mapping tests I and II, filtering tests I and II: five RFC 5780 answers.
  assert.equal([...out.matchAll(/RFC 5780 response \d+/g)].length, 5, out);
  const { port: p1, altPort: p2 } = server;
  assert.deepEqual(
    new Set(addresses(out, "Other addr")),
    new Set([`127.0.0.2:${p2}`, `127.0.0.1:${p2}`]),
    out,
  );
  // Mapping test II reached 127.0.0.2:P1; filtering test II came back from 127.0.0.2:P2.
  const origins = new Set(addresses(out, "Response origin"));
  for (const expected of [`127.0.0.1:${p1}`, `127.0.0.2:${p1}`, `127.0.0.2:${p2}`]) {
    assert.ok(origins.has(expected), `no answer from ${expected}:\n${out}`);
  }
});

Deno.test("natdiscovery's padded requests get padded answers it accepts", async () => {
  await using server = await startTwoAddressServer();
  const out = await natdiscovery(server, ["-m", "-f", "-P"]);
  assert.match(out, /NAT with Endpoint Independent Mapping!/, out);
  assert.match(out, /NAT with Endpoint Independent Filtering!/, out);
  assert.doesNotMatch(out, /timeout|error|ALG detected/i, out);
});

Deno.test("natdiscovery's lifetime test gets its RESPONSE-PORT answer on the first socket", async () => {
  await using server = await startTwoAddressServer();
  const out = await natdiscovery(server, ["-t", "-T", "1"]);
  // The second answer is read from the first socket: it went to RESPONSE-PORT.
  assert.match(out, /RFC 5780 response 2/, out);
  assert.doesNotMatch(out, /timeout|error/i, out);
});

Deno.test("natdiscovery's collision test is answered from a second local address", async () => {
  await using server = await startTwoAddressServer();
  const out = await natdiscovery(server, ["-c", "-A", "127.0.0.3"]);
  const reflexive = addresses(out, "UDP reflexive addr");
  assert.equal(reflexive.length, 2, out);
  assert.equal(reflexive[1].split(":")[0], "127.0.0.3", out);
  assert.equal(reflexive[0].split(":")[1], reflexive[1].split(":")[1], "same port, two addresses");
});

Deno.test("natdiscovery draws no conclusion from a one-address server, which sends no OTHER-ADDRESS", async () => {
  await using server = await startBehaviourServer({
    primaryHost: "127.0.0.1",
    port: 0,
    altPort: 0,
  });
  const out = await natdiscovery(server, ["-m", "-f"]);
  // Answered (reflexive addresses printed), but never taken for RFC 5780 behaviour discovery.
  assert.ok(addresses(out, "UDP reflexive addr").length >= 2, out);
  assert.doesNotMatch(out, /RFC 5780 response|NAT with|timeout/, out);
});
