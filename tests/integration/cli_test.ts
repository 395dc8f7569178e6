/** The command line as a user meets it: help, version, usage errors and exit codes. */
import { assert, assertEquals } from "../_util/assert.ts";
import { run } from "../lab/process.ts";
import { DENO, ROOT } from "../_util/tun.ts";

const tun = (...args: string[]) => run([DENO, "run", "-A", "--quiet", `${ROOT}/main.ts`, ...args]);

Deno.test("--help explains every command and flag, and exits 0", async () => {
  const top = await tun("--help");
  assertEquals(top.code, 0);
  for (const word of ["p2p", "p2p-join", "relay"]) assert(top.stdout.includes(word), word);
  const cases: [string, string[]][] = [
    ["p2p", ["--relay", "--p2p-timeout", "--transport", "--json"]],
    ["p2p-join", ["--port", "--relay", "--p2p-timeout", "--transport", "--json", "--bind"]],
    [
      "relay",
      [
        "--listen",
        "--stun-port",
        "--quic-port",
        "--public-host",
        "--code-ttl",
        "--https-port",
        "--tls-cert",
        "--tls-key",
        "--public-url",
        "--json",
      ],
    ],
  ];
  for (const [cmd, flags] of cases) {
    const r = await tun(cmd, "--help");
    assertEquals(r.code, 0, cmd);
    for (const f of flags) assert(r.stdout.includes(f), `${cmd} --help mentions ${f}`);
  }
});

Deno.test("--version prints the version, the runtime and what this build can do", async () => {
  const r = await tun("--version");
  assertEquals(r.code, 0);
  assert(
    /^tun \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+; webrtc yes, quic yes, webtransport yes\)$/
      .test(r.stdout.trim()),
    r.stdout,
  );
});

Deno.test("bad input is a one-line error and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["p2p", "abc"], /port number/],
    [["p2p", "70000"], /port number/],
    [["p2p", "3000", "--p2p-timeout", "soon"], /not a duration/],
    [["p2p", "3000", "--relay", "ftp://x"], /http/],
    [["p2p-join", "XX"], /12 characters/],
    [["p2p-join", "K7M2-QX9P-4RTU"], /character/],
    [["p2p-join", "K7M2-QX9P-4RTW", "--port", "-1"], /./],
    [["p2p", "3000", "--transport", "tcp"], /--transport must be webrtc or quic/],
    [["p2p-join", "K7M2-QX9P-4RTW", "--transport", "sctp"], /--transport must be webrtc or quic/],
    [["relay", "--quic-port", "udp"], /--quic-port must be a port number/],
    [["relay", "--listen", "nowhere"], /HOST:PORT/],
    [["relay", "--tls-cert", "cert.pem"], /--tls-cert and --tls-key go together/],
    [["relay", "--https-port", "99999"], /port number/],
    [["relay", "--public-url", "http://relay.example"], /https origin/],
    [["relay", "--public-url", "https://relay.example/some/path"], /https origin/],
    [["teleport"], /unknown command/],
    [["p2p"], /missing required argument/],
  ];
  for (const [args, pattern] of cases) {
    const r = await tun(...args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, `${args.join(" ")}: one line, got ${JSON.stringify(r.stderr)}`);
    assert(pattern.test(lines[0]), `${args.join(" ")}: ${lines[0]}`);
  }
});

Deno.test("with --json a usage error is an error event on stdout", async () => {
  const r = await tun("p2p", "abc", "--json");
  assertEquals(r.code, 2);
  const ev = JSON.parse(r.stdout.trim());
  assertEquals(ev.event, "error");
  assert(String(ev.message).includes("port"));
});

Deno.test("a relay that is not there is a one-line error and exit code 1", async () => {
  for (const args of [["p2p", "3000"], ["p2p-join", "K7M2-QX9P-4RTW"]]) {
    const r = await tun(...args, "--relay", "http://127.0.0.1:1");
    assertEquals(r.code, 1, args.join(" "));
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, r.stderr);
    assert(/nothing answered/.test(lines[0]), lines[0]);
  }
});

Deno.test("a relay whose certificate files cannot be read says so and exits 1", async () => {
  const r = await tun(
    "relay",
    "--listen",
    "127.0.0.1:0",
    "--stun-port",
    "0",
    "--tls-cert",
    "/nonexistent/cert.pem",
    "--tls-key",
    "/nonexistent/key.pem",
  );
  assertEquals(r.code, 1, r.stderr);
  assert(/cannot load the HTTPS certificate/.test(r.stderr), r.stderr);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
});
