/** `tun relay`: run a relay until SIGINT/SIGTERM. */
import process from "node:process";
import { startRelay } from "../../relay/mod.ts";
import type { RelayLimitsOptions } from "../../relay/limits.ts";
import type { Output } from "./output.ts";
import fs from "node:fs";
import { isIP } from "node:net";
import { devCert } from "./dev_cert.ts";
import { lanAddress } from "../peer/relay_url.ts";

export interface RelayCommandOptions {
  hostname: string;
  port: number;
  stunPort: number;
  /** UDP port of the QUIC listener (observed addresses, relay-mode splicing); null: none. */
  quicPort: number | null;
  publicHost?: string;
  codeTtlMs: number;
  turnSecret?: string;
  turnUrl?: string;
  turnRelayIp?: string;
  stunAltHost?: string;
  /** Secret that peers' access tokens must be signed with; none: anyone may connect. */
  token?: string;
  /** Let the built-in TURN server relay to private addresses. */
  allowPrivatePeers?: boolean;
  /** An HTTPS listener for browser guests; without files, the development certificate. */
  https?: { port: number; certFile?: string; keyFile?: string };
  /** The https origin browsers use, when a TLS proxy terminates https in front. */
  publicUrl?: string;
  limits?: RelayLimitsOptions;
  out: Output;
}

export async function runRelay(o: RelayCommandOptions): Promise<number> {
  const { out } = o;
  let tls: { certPem: string; keyPem: string; note: string } | undefined;
  if (o.https) {
    try {
      if (o.https.certFile && o.https.keyFile) {
        const certPem = fs.readFileSync(o.https.certFile, "utf8");
        const keyPem = fs.readFileSync(o.https.keyFile, "utf8");
        tls = { certPem, keyPem, note: o.https.certFile };
      } else {
        const ips = [o.publicHost, o.hostname].filter((h): h is string =>
          !!h && isIP(h) !== 0 && h !== "0.0.0.0" && h !== "::"
        );
        const dev = await devCert([...ips, lanAddress()]);
        tls = { ...dev, note: `self-signed ${dev.certPath} (SHA-256 ${dev.fingerprint})` };
      }
    } catch (err) {
      out.error(`cannot load the HTTPS certificate: ${(err as Error).message}`);
      return 1;
    }
  }
  let relay;
  try {
    relay = await startRelay({
      hostname: o.hostname,
      port: o.port,
      stunPort: o.stunPort,
      quicPort: o.quicPort,
      codeTtlMs: o.codeTtlMs,
      publicHost: o.publicHost,
      turnSecret: o.turnSecret,
      turnUrl: o.turnUrl,
      turnRelayIp: o.turnRelayIp,
      stunAltHost: o.stunAltHost,
      token: o.token,
      allowPrivatePeers: o.allowPrivatePeers,
      https: tls && o.https && { port: o.https.port, certPem: tls.certPem, keyPem: tls.keyPem },
      publicUrl: o.publicUrl,
      limits: o.limits,
      log: (line) => {
        if (!out.json) process.stderr.write(`relay: ${line}\n`);
      },
    });
  } catch (err) {
    out.error(`cannot start relay on ${o.hostname}:${o.port}: ${(err as Error).message}`);
    return 1;
  }
  const shown = o.publicHost ?? (o.hostname === "0.0.0.0" ? "<this-host>" : o.hostname);
  const url = `http://${shown}:${relay.port}`;
  const web = o.publicUrl ??
    (relay.httpsPort === null ? null : `https://${shown}:${relay.httpsPort}`);
  out.emit(
    {
      event: "listening",
      url,
      hostname: o.hostname,
      port: relay.port,
      stun_port: relay.stunPort,
      turn: o.turnUrl ?? (relay.turnTcpPort === null ? null : "built-in"),
      turn_tcp_port: relay.turnTcpPort,
      quic_port: relay.quicPort,
      https_port: relay.httpsPort,
      web,
      token_required: o.token !== undefined,
      allow_private_peers: !!o.allowPrivatePeers,
    },
    [
      `${out.bold("tun relay")}  listening`,
      `  http   ${o.hostname}:${relay.port}  (signalling, WebSocket /v1/signal)`,
      relay.httpsPort !== null
        ? `  https  ${o.hostname}:${relay.httpsPort}  (browser guests; ${tls?.note})`
        : o.publicUrl
        ? `  https  ${o.publicUrl}  (browser guests, through your TLS proxy)`
        : `  https  off  (browser guests need --https-port or --public-url)`,
      `  stun   ${o.hostname}:${relay.stunPort}/udp`,
      o.turnUrl
        ? `  turn   external ${o.turnUrl}`
        : `  turn   ${o.hostname}:${relay.stunPort}/udp, ${o.hostname}:${relay.turnTcpPort}/tcp (built in)` +
          (o.allowPrivatePeers ? ", private peers allowed" : ""),
      relay.quicPort !== null
        ? `  quic   ${o.hostname}:${relay.quicPort}/udp  (QUIC data plane: observed addresses, relay-mode splicing)`
        : `  quic   off` + (o.quicPort === null ? "" : "  (this runtime has no QUIC)"),
      `  peers  --relay ${url}` + (o.token !== undefined ? " --token <secret>" : ""),
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await relay.close();
  return 0;
}
