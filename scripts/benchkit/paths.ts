/**
 * The ways from a user's client to the app that the bench compares, one per
 * table row: the app itself (raw TCP), socat, ssh -L, and tun. Each starts its
 * processes in a namespace and hands back a `Path`: where clients connect, which
 * processes serve each side (for memory), and how long the forwarder took from
 * being started to the first response byte.
 */
import path from "node:path";
import { DENO, nextEvent, startHost, TUN } from "../../tests/_util/tun.ts";
import { type LabProcess, spawnIn } from "../../tests/lab/process.ts";
import { startSshd } from "./ssh.ts";

/** Runs probe.ts (the first-byte and idle-connection clients) inside a namespace. */
export const PROBE = [DENO, "run", "-A", "--quiet", path.join(import.meta.dirname!, "probe.ts")];

/** The app every row reaches: its namespace and port on 127.0.0.1. */
export interface App {
  ns: string;
  port: number;
}

/** One way to reach the app: what a table row measures. Disposing it stops its processes. */
export interface Path extends AsyncDisposable {
  app: App;
  /** Namespace the user's clients run in; they dial 127.0.0.1:`port`. */
  ns: string;
  port: number;
  /** Every namespace the path's processes run in (for UDP drop counts). */
  namespaces: string[];
  /** Roots of the process trees on the app's side and on the user's side. */
  hostPids: number[];
  guestPids: number[];
  /** The relay's pid, where the bytes pass through it. */
  relayPid?: number;
  /** ms from starting the forwarder (socat, ssh, p2p-join) to the first response byte. */
  firstByteMs?: number;
  /** How the path was made, for the notes (e.g. "direct host ↔ prflx"). */
  detail: string;
}

/** The app's own port: loopback TCP, nothing in between. */
export function rawTcp(app: App): Path {
  return {
    app,
    ns: app.ns,
    port: app.port,
    namespaces: [app.ns],
    hostPids: [],
    guestPids: [],
    detail: "client → app on 127.0.0.1",
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

/** socat forwarding `port` to the app, a process per connection (fork). */
export async function socat(app: App, port: number): Promise<Path> {
  const { proc, firstByteMs } = await timeToFirstByte(app.ns, port, () =>
    spawnIn(app.ns, [
      "socat",
      `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,backlog=1024`,
      `TCP:127.0.0.1:${app.port}`,
    ]));
  return {
    app,
    ns: app.ns,
    port,
    namespaces: [app.ns],
    hostPids: [],
    guestPids: [proc.pid],
    firstByteMs,
    detail: "socat TCP-LISTEN,fork → app",
    [Symbol.asyncDispose]: () => proc.kill().then(() => {}),
  };
}

/** `ssh -L port:app` through a private sshd on `sshPort`, both on loopback. */
export async function sshForward(app: App, port: number, sshPort: number): Promise<Path> {
  const sshd = await startSshd(app.ns, sshPort);
  try {
    const { proc, firstByteMs } = await timeToFirstByte(app.ns, port, () =>
      spawnIn(app.ns, [
        ...sshd.clientArgs,
        "-N",
        "-L",
        `127.0.0.1:${port}:127.0.0.1:${app.port}`,
        sshd.destination,
      ]));
    return {
      app,
      ns: app.ns,
      port,
      namespaces: [app.ns],
      hostPids: [sshd.proc.pid],
      guestPids: [proc.pid],
      firstByteMs,
      detail: `OpenSSH ${sshd.version}, default cipher ${sshd.cipher}, ed25519 keys`,
      [Symbol.asyncDispose]: async () => {
        await proc.kill();
        await sshd[Symbol.asyncDispose]();
      },
    };
  } catch (err) {
    await sshd[Symbol.asyncDispose]();
    throw err;
  }
}

/** A relay the tun rows share. */
export interface RelayInfo {
  url: string;
  pid: number;
  ns: string;
}

export interface TunOptions {
  relay: RelayInfo;
  /** Namespace of the host (with the app) and of the guest. */
  hostNs: string;
  guestNs: string;
  /** The guest's local port (fixed, so the first-byte client can dial it early). */
  port: number;
  /** Extra p2p-join flags, e.g. ["--transport", "quic"]. */
  guestArgs?: string[];
  /** The path the guest must report ("direct" or "relay"); anything else is an error. */
  expect: "direct" | "relay";
}

/** A tun host for the app and one guest, each its own process; the relay stays up. */
export async function tun(app: App, o: TunOptions): Promise<Path> {
  const host = await startHost(o.hostNs, app.port, ["--relay", o.relay.url]);
  try {
    const { proc: guest, firstByteMs } = await timeToFirstByte(
      o.guestNs,
      o.port,
      () =>
        spawnIn(o.guestNs, [
          ...TUN,
          "p2p-join",
          host.info.code,
          "--json",
          "--relay",
          o.relay.url,
          "--port",
          String(o.port),
          ...o.guestArgs ?? [],
        ]),
    );
    const ready = await nextEvent(guest, "ready", 30_000).catch(async (err) => {
      await guest.kill();
      throw err;
    });
    if (ready.path !== o.expect) {
      await guest.kill();
      throw new Error(`expected a ${o.expect} path, the guest reported ${JSON.stringify(ready)}`);
    }
    const pair = ready.local_candidate
      ? ` ${ready.local_candidate} ↔ ${ready.remote_candidate}`
      : "";
    return {
      app,
      ns: o.guestNs,
      port: o.port,
      namespaces: [...new Set([o.hostNs, o.guestNs, o.relay.ns])],
      hostPids: [host.proc.pid],
      guestPids: [guest.pid],
      relayPid: o.expect === "relay" ? o.relay.pid : undefined,
      firstByteMs,
      detail: `${ready.transport} ${ready.path}${pair}` +
        (ready.rtt_ms === null ? "" : `, rtt ${ready.rtt_ms} ms`) +
        `, ready ${ready.elapsed_ms} ms after p2p-join began (by its own clock)`,
      [Symbol.asyncDispose]: async () => {
        await guest.kill();
        await host.proc.kill();
      },
    };
  } catch (err) {
    await host.proc.kill();
    throw err;
  }
}

/**
 * Start a forwarder with `spawn` while a client in `ns` already dials `port`
 * every millisecond; returns the forwarder and the ms from its start to the
 * first byte of a GET through it.
 */
async function timeToFirstByte(
  ns: string,
  port: number,
  spawn: () => LabProcess,
): Promise<{ proc: LabProcess; firstByteMs: number }> {
  await using client = spawnIn(ns, [...PROBE, "first-byte", String(port)]);
  await nextEvent(client, "armed");
  const startedAt = performance.timeOrigin + performance.now();
  const proc = spawn();
  try {
    const ev = await nextEvent(client, "first-byte", 60_000);
    return { proc, firstByteMs: Number(ev.at) - startedAt };
  } catch (err) {
    await proc.kill();
    throw new Error(`${(err as Error).message}\nforwarder stderr:\n${proc.stderr.slice(-2000)}`);
  }
}
