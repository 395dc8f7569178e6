/** `tun relay`: run a relay until SIGINT/SIGTERM. */
import process from "node:process";
import { startRelay } from "../../relay/mod.ts";
import type { RelayLimitsOptions } from "../../relay/limits.ts";
import type { Output } from "./output.ts";

export interface RelayCommandOptions {
  hostname: string;
  port: number;
  stunPort: number;
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
  limits?: RelayLimitsOptions;
  out: Output;
}

export async function runRelay(o: RelayCommandOptions): Promise<number> {
  const { out } = o;
  let relay;
  try {
    relay = await startRelay({
      hostname: o.hostname,
      port: o.port,
      stunPort: o.stunPort,
      codeTtlMs: o.codeTtlMs,
      publicHost: o.publicHost,
      turnSecret: o.turnSecret,
      turnUrl: o.turnUrl,
      turnRelayIp: o.turnRelayIp,
      stunAltHost: o.stunAltHost,
      token: o.token,
      allowPrivatePeers: o.allowPrivatePeers,
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
  out.emit(
    {
      event: "listening",
      url,
      hostname: o.hostname,
      port: relay.port,
      stun_port: relay.stunPort,
      turn: o.turnUrl ?? (relay.turnTcpPort === null ? null : "built-in"),
      turn_tcp_port: relay.turnTcpPort,
      token_required: o.token !== undefined,
      allow_private_peers: !!o.allowPrivatePeers,
    },
    [
      `${out.bold("tun relay")}  listening`,
      `  http   ${o.hostname}:${relay.port}  (signalling, WebSocket /v1/signal)`,
      `  stun   ${o.hostname}:${relay.stunPort}/udp`,
      o.turnUrl
        ? `  turn   external ${o.turnUrl}`
        : `  turn   ${o.hostname}:${relay.stunPort}/udp, ${o.hostname}:${relay.turnTcpPort}/tcp (built in)` +
          (o.allowPrivatePeers ? ", private peers allowed" : ""),
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
