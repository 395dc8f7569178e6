/**
 * tun: share a local TCP port peer to peer. This file only parses arguments
 * and dispatches; the work lives in lib/ and relay/.
 *
 * Exit codes: 0 clean exit, 1 runtime failure, 2 usage error.
 */
import process from "node:process";
import { isIP } from "node:net";
import { parseTurnUrl } from "./relay/turn_url.ts";
import { Command, CommanderError, Option } from "commander";
import { Output } from "./lib/cli/output.ts";
import { parseDuration } from "./lib/cli/duration.ts";
import { isValidName, JoinCodeError, parseJoinCode } from "./lib/code/mod.ts";
import { normaliseRelayUrl } from "./lib/peer/relay_url.ts";
import { defaultAuditPath } from "./lib/peer/audit.ts";
import { checkTokenSecret } from "./lib/auth/mod.ts";

export const VERSION = "0.1.0";

class UsageError extends Error {}
/** `--version` was given: print it (lib/cli/version.ts) instead of running a command. */
class VersionRequested extends Error {}

function portArg(text: string, what: string, allowZero: boolean): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535 || (!allowZero && n === 0)) {
    throw new UsageError(
      `${what} must be a port number (${allowZero ? 0 : 1}-65535), got "${text}"`,
    );
  }
  return n;
}

function tokenArg(flag: string | undefined, env = "TUN_TOKEN"): string | undefined {
  const secret = flag ?? process.env[env];
  if (secret === undefined || secret === "") return undefined;
  try {
    checkTokenSecret(secret);
  } catch (err) {
    throw new UsageError(`--token: ${(err as Error).message}`);
  }
  return secret;
}

function countArg(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 10_000) {
    throw new UsageError(`${flag} must be a whole number from 1 to 10000, got "${text}"`);
  }
  return n;
}

function durationArg(text: string, flag: string): number {
  try {
    const ms = parseDuration(text);
    if (ms <= 0) throw new Error("must be positive");
    return ms;
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
}

function relayArg(flag: string | undefined): string | undefined {
  const text = flag ?? process.env.TUN_RELAY;
  if (!text) return undefined;
  try {
    return normaliseRelayUrl(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function turnUrlArg(url: string | undefined, secret: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    parseTurnUrl(url);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!secret) {
    throw new UsageError("--turn-url needs --turn-secret (the coturn static-auth-secret)");
  }
  return url;
}

function altHostArg(text: string | undefined, listenHost: string): string | undefined {
  const ip = ipArg(text, "--stun-alt-host");
  if (ip && (listenHost === "0.0.0.0" || listenHost === "::")) {
    throw new UsageError(
      "--stun-alt-host needs --listen with a specific IP (the primary address), not a wildcard",
    );
  }
  return ip;
}

function ipArg(text: string | undefined, flag: string): string | undefined {
  if (text === undefined) return undefined;
  if (isIP(text) === 0) throw new UsageError(`${flag} must be an IP address, got "${text}"`);
  return text;
}

/** --https-port, --tls-cert, --tls-key: HTTPS is on when any is given. */
function httpsArgs(
  o: { httpsPort?: string; tlsCert?: string; tlsKey?: string },
): { port: number; certFile?: string; keyFile?: string } | undefined {
  if (!!o.tlsCert !== !!o.tlsKey) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  if (o.httpsPort === undefined && !o.tlsCert) return undefined;
  const port = o.httpsPort === undefined ? 7443 : portArg(o.httpsPort, "--https-port", true);
  return { port, certFile: o.tlsCert, keyFile: o.tlsKey };
}

function publicUrlArg(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--public-url must be a URL like https://relay.example, got "${text}"`);
  }
  if (u.protocol !== "https:" || u.pathname !== "/" || u.search || u.hash) {
    throw new UsageError(
      `--public-url must be an https origin like https://relay.example, got "${text}"`,
    );
  }
  return u.origin;
}

function transportArg(text: string): "webrtc" | "quic" {
  if (text !== "webrtc" && text !== "quic") {
    throw new UsageError(`--transport must be webrtc or quic, got "${text}"`);
  }
  return text;
}

function listenArg(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--listen must be HOST:PORT, got "${text}"`);
  return { hostname: m[1] ?? m[2], port: portArg(m[3], "--listen port", true) };
}

/** `tun relay --token` (or env TUN_RELAY_TOKEN): the secret peers' access tokens are signed with. */
/** A relay limit flag; unset leaves relay/limits.ts's default. */
function limitArg(text: string | undefined, flag: string): number | undefined {
  return text === undefined ? undefined : countArg(text, flag);
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  let jsonMode = argv.includes("--json");
  const program = new Command("tun")
    .description(
      "Share a local TCP port with another machine, peer to peer.\n\n" +
        "  tun p2p 3000            share port 3000; prints a join code\n" +
        "  tun p2p-join <code>     open a local port that reaches it\n" +
        "  tun relay               run a relay that introduces peers",
    )
    .option("-V, --version", "print the version and this build's capabilities")
    .on("option:version", () => {
      throw new VersionRequested();
    })
    .helpOption("-h, --help", "show help")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // One line, in tun's voice; an error event instead under --json.
      outputError: (s) => {
        const message = s.trim().replace(/^error: /, "");
        if (jsonMode) new Output({ json: true }).error(message);
        else process.stderr.write(`tun: ${message} (see tun --help)\n`);
      },
    });

  const p2pTimeout = () =>
    new Option("--p2p-timeout <duration>", "how long to try for a direct path (e.g. 8s, 500ms)")
      .default("8s");
  const tokenOpt = () =>
    new Option(
      "--token <secret>",
      "the relay's access secret, if it was started with --token (env TUN_TOKEN)",
    );
  const transportOpt = (description: string) =>
    new Option("--transport <kind>", description).default("webrtc");
  const relayOpt = () =>
    new Option(
      "--relay <url>",
      "relay to use, http://host:port (env TUN_RELAY); without one, p2p embeds a LAN relay",
    );

  program.command("relay")
    .description("run a relay: signalling (HTTP/WebSocket) and STUN (UDP) for peers to meet")
    .option(
      "--listen <host:port>",
      "HTTP/WebSocket address; port 0 picks a free port",
      "0.0.0.0:7700",
    )
    .option(
      "--stun-port <port>",
      "STUN/TURN port (UDP and TCP; TURN is built in); 0 picks a free port",
      "3478",
    )
    .option(
      "--quic-port <port>",
      "UDP port of the QUIC listener (QUIC data plane: observed addresses, relay mode); 0 picks a free port",
      "7700",
    )
    .option(
      "--stun-alt-host <ip>",
      "a second local IP, so tun debug nat-type can test filtering and mapping fully (RFC 5780)",
    )
    .option(
      "--turn-secret <secret>",
      "shared secret for TURN REST credentials (env TUN_TURN_SECRET; random if unset)",
    )
    .option(
      "--turn-url <turn:host:port>",
      "use an external TURN server (coturn with use-auth-secret) instead of the built-in one",
    )
    .option(
      "--turn-relay-ip <ip>",
      "address the built-in TURN server relays from (default: the listen or public IP)",
    )
    .option(
      "--public-host <host>",
      "host name or IP peers use to reach this relay (shown in output)",
    )
    .option(
      "--https-port <port>",
      "also serve HTTPS here, for browser guests (Service Workers need it); 0 picks a free port",
    )
    .option(
      "--tls-cert <file>",
      "PEM certificate for HTTPS (default: a saved self-signed development certificate)",
    )
    .option("--tls-key <file>", "PEM private key for --tls-cert")
    .option(
      "--public-url <url>",
      "https origin browsers reach this relay at, when a TLS proxy in front terminates https",
    )
    .option("--code-ttl <duration>", "a join code no guest has used expires after this long", "24h")
    .option(
      "--token <secret>",
      "peers must present a token signed with this secret, 16+ bytes (env TUN_RELAY_TOKEN)",
    )
    .option(
      "--allow-private-peers",
      "let TURN relay to loopback/private/link-local addresses (single-LAN setups, labs)",
    )
    .option("--max-sessions-per-ip <n>", "join codes one address may host at once (default 16)")
    .option("--max-connections-per-ip <n>", "WebSockets one address may hold open (default 64)")
    .option("--max-joins-per-ip <n>", "join attempts one address may make a minute (default 20)")
    .option("--json", "print newline-delimited JSON events")
    .action(async (o) => {
      const listen = listenArg(o.listen);
      const token = tokenArg(o.token, "TUN_RELAY_TOKEN");
      exitCode = await (await import("./lib/cli/relay_cmd.ts")).runRelay({
        hostname: listen.hostname,
        port: listen.port,
        stunPort: portArg(o.stunPort, "--stun-port", true),
        quicPort: portArg(o.quicPort, "--quic-port", true),
        publicHost: o.publicHost,
        codeTtlMs: durationArg(o.codeTtl, "--code-ttl"),
        turnSecret: o.turnSecret ?? process.env.TUN_TURN_SECRET,
        turnUrl: turnUrlArg(o.turnUrl, o.turnSecret ?? process.env.TUN_TURN_SECRET),
        turnRelayIp: ipArg(o.turnRelayIp, "--turn-relay-ip"),
        stunAltHost: altHostArg(o.stunAltHost, listen.hostname),
        https: httpsArgs(o),
        publicUrl: publicUrlArg(o.publicUrl),
        token,
        allowPrivatePeers: !!o.allowPrivatePeers,
        limits: {
          sessionsPerIp: limitArg(o.maxSessionsPerIp, "--max-sessions-per-ip"),
          connectionsPerIp: limitArg(o.maxConnectionsPerIp, "--max-connections-per-ip"),
          joinsPerIpPerMinute: limitArg(o.maxJoinsPerIp, "--max-joins-per-ip"),
        },
        out: new Output({ json: !!o.json }),
      });
    });

  program.command("p2p")
    .usage("<port> [options]\n       tun p2p status <code> [--json]")
    .description(
      "share local TCP port <port> (127.0.0.1 only); prints a join code for guests,\n" +
        "and a link that shows a web app on that port in a browser (over HTTPS, when\n" +
        "the relay serves it: the embedded LAN relay does, `tun relay --https-port`).\n" +
        "Several guests may join with the same code, each with their own connection.\n" +
        "If no direct path opens within --p2p-timeout, a guest drops quietly to relay\n" +
        "mode: the relay's TURN server forwards DTLS ciphertext it cannot read (QUIC\n" +
        "guests: the relay's QUIC listener splices streams sealed end to end).\n" +
        "WebRTC and QUIC guests (p2p-join --transport quic) are served at once.\n\n" +
        "tun p2p status <code>: per guest, the path (direct/relay), why, RTT, and bytes\n" +
        "sent and received, from the host running <code> on this machine.",
    )
    .argument("<port>", "the local TCP port to share (or: status)")
    .argument("[code]", "with status: the join code (or just its first group)")
    .addOption(relayOpt())
    .addOption(p2pTimeout())
    .addOption(
      transportOpt(
        "webrtc: serve WebRTC and QUIC guests alike; quic: QUIC guests only, WebRTC not loaded",
      ),
    )
    .option("--max-guests <n>", "refuse guests beyond this many at once")
    .option("--once", "accept one guest only, and stop when it leaves")
    .option(
      "--audit-log <file>",
      "append one JSON line per accepted or rejected guest here",
      defaultAuditPath(),
    )
    .addOption(tokenOpt())
    .option("--json", "print newline-delimited JSON events (code, guest, path, ...)")
    .action(async (portText: string, codeText: string | undefined, o) => {
      if (portText === "status") {
        if (!codeText) throw new UsageError("tun p2p status needs the join code");
        const name = codeText.trim().toUpperCase().split(/[-\s]/)[0];
        if (!isValidName(name)) throw new UsageError(`"${codeText}" is not a join code`);
        const { runStatus } = await import("./lib/cli/status_cmd.ts");
        exitCode = runStatus(name, new Output({ json: !!o.json }));
        return;
      }
      if (codeText !== undefined) throw new UsageError(`unexpected argument "${codeText}"`);
      const port = portArg(portText, "<port>", false);
      const relayUrl = relayArg(o.relay);
      const timeout = durationArg(o.p2pTimeout, "--p2p-timeout");
      const { runHost } = await import("./lib/peer/host.ts");
      exitCode = await runHost({
        port,
        relayUrl,
        p2pTimeoutMs: timeout,
        maxGuests: o.maxGuests === undefined ? undefined : countArg(o.maxGuests, "--max-guests"),
        once: !!o.once,
        auditLog: o.auditLog,
        token: tokenArg(o.token),
        transport: transportArg(o.transport),
        command: process.env.TUN_ARGV0 || "tun",
        out: new Output({ json: !!o.json }),
      });
    });

  program.command("p2p-join")
    .description("join a shared port: opens a local port that reaches the host's port")
    .argument("<code>", "the join code the host printed, e.g. K7M2-QX9P-4RTW")
    .option("--port <n>", "local port to open (default: a free port, printed when ready)", "0")
    .option("--bind <address>", "local address to listen on", "127.0.0.1")
    .addOption(relayOpt())
    .addOption(p2pTimeout())
    .addOption(
      transportOpt(
        "data plane: webrtc (a DataChannel) or quic (Deno's QUIC); quic when WebRTC cannot load",
      ),
    )
    .addOption(tokenOpt())
    .option("--json", "print newline-delimited JSON events (ready, path, error)")
    .action(async (codeText: string, o) => {
      try {
        parseJoinCode(codeText);
      } catch (err) {
        if (err instanceof JoinCodeError) throw new UsageError(err.message);
        throw err;
      }
      const port = portArg(o.port, "--port", true);
      const relayUrl = relayArg(o.relay);
      const timeout = durationArg(o.p2pTimeout, "--p2p-timeout");
      const { runGuest } = await import("./lib/peer/guest.ts");
      exitCode = await runGuest({
        code: codeText,
        port,
        bind: o.bind,
        relayUrl,
        p2pTimeoutMs: timeout,
        token: tokenArg(o.token),
        transport: transportArg(o.transport),
        out: new Output({ json: !!o.json }),
      });
    });

  const debug = program.command("debug").description("diagnostics");
  debug.command("nat-type")
    .description(
      "tell whether a direct path will work: probes this machine's NAT against the\n" +
        "relay's STUN ports (RFC 5780): UDP, public address, mapping and filtering\n" +
        "behaviour, hairpinning, stability, and a verdict in plain words",
    )
    .addOption(
      new Option("--relay <url>", "relay to probe against, http://host:port (env TUN_RELAY)"),
    )
    .addOption(tokenOpt())
    .option(
      "--json",
      "print one JSON object: udp, public_address, mapping, filtering, hairpin, verdict, elapsed_ms",
    )
    .action(async (o) => {
      const relayUrl = relayArg(o.relay);
      if (!relayUrl) {
        throw new UsageError(
          "tun debug nat-type needs a relay on the internet: --relay URL or TUN_RELAY",
        );
      }
      const { runNatType } = await import("./lib/cli/nat_type_cmd.ts");
      exitCode = await runNatType(relayUrl, new Output({ json: !!o.json }), tokenArg(o.token));
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof VersionRequested) {
      return await (await import("./lib/cli/version.ts")).runVersion(VERSION);
    }
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return 0;
      if (err.code === "commander.help") return 0;
      return 2; // commander already printed the message
    }
    if (err instanceof UsageError) {
      const out = new Output({ json: jsonMode });
      out.error(err.message);
      return 2;
    }
    jsonMode = jsonMode && true;
    new Output({ json: jsonMode }).error((err as Error).message ?? String(err));
    return 1;
  }
  return exitCode;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
