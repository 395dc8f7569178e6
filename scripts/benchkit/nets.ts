/**
 * The two networks the bench runs its rows in, each with the app and a tun
 * relay already up:
 *
 * - `loopbackNet`: one private namespace; every process on 127.0.0.1. Raw TCP,
 *   socat, ssh -L and tun's direct paths run here (host ↔ host, no NAT).
 * - `natNet`: the NAT lab with the relay on its internet, the app and tun hosts
 *   behind a port-restricted NAT, a guest site behind a symmetric NAT (hole
 *   punching is ruled out, so tun goes through the relay) and one behind another
 *   port-restricted NAT (direct, for the time to first byte across real NATs).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { createLoopbackNs } from "../../tests/_util/netns_lo.ts";
import { DENO, startRelay } from "../../tests/_util/tun.ts";
import { createLab } from "../../tests/lab/netns.ts";
import { spawnIn } from "../../tests/lab/process.ts";
import type { App, RelayInfo } from "./paths.ts";

export interface Net extends AsyncDisposable {
  /** What the network is, for the notes under the table. */
  description: string;
  app: App;
  relay: RelayInfo;
  /** Where tun hosts run (the app's namespace) and where guests run. */
  hostNs: string;
  guestNs: string;
}

export interface NatNet extends Net {
  /** A guest site whose NAT lets a direct path through (port-restricted). */
  directGuestNs: string;
}

/** The app serving `dir` in `ns`, and its port. */
async function startApp(ns: string, dir: string, stack: AsyncDisposableStack): Promise<App> {
  const proc = stack.use(
    spawnIn(ns, [DENO, "run", "-A", path.join(import.meta.dirname!, "app.ts"), dir]),
  );
  const m = await proc.waitForLine(/^\{"port":(\d+)\}$/, 15_000);
  return { ns, port: Number(m[1]) };
}

async function startRelayIn(
  ns: string,
  ip: string,
  stack: AsyncDisposableStack,
): Promise<RelayInfo> {
  const relay = await startRelay(ns, ip);
  stack.use(relay.proc);
  return { url: relay.info.url, pid: relay.proc.pid, ns };
}

export async function loopbackNet(dir: string): Promise<Net> {
  const stack = new AsyncDisposableStack();
  try {
    const { ns } = stack.use(await createLoopbackNs());
    stack.defer(deleteOnExit(ns));
    const app = await startApp(ns, dir, stack);
    const relay = await startRelayIn(ns, "127.0.0.1", stack);
    return {
      description: "one private network namespace, every process on 127.0.0.1",
      app,
      relay,
      hostNs: ns,
      guestNs: ns,
      [Symbol.asyncDispose]: () => stack.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

export async function natNet(dir: string): Promise<NatNet> {
  const stack = new AsyncDisposableStack();
  try {
    const lab = stack.use(
      await createLab({
        sites: { host: "port-restricted", guest: "symmetric", direct: "port-restricted" },
      }),
    );
    const app = await startApp(lab.site("host").ns, dir, stack);
    const relay = await startRelayIn(lab.internet.ns, lab.internet.ip, stack);
    return {
      description:
        "NAT lab: relay on the lab internet, host behind a port-restricted NAT, guest behind a symmetric NAT",
      app,
      relay,
      hostNs: app.ns,
      guestNs: lab.site("guest").ns,
      directGuestNs: lab.site("direct").ns,
      [Symbol.asyncDispose]: () => stack.disposeAsync(),
    };
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

/**
 * If the bench is interrupted, kill what runs in namespace `ns` and delete it
 * (the NAT lab does the same for itself). Returns the undo, for a normal close.
 */
function deleteOnExit(ns: string): () => void {
  const onExit = () => {
    const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout;
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch { /* gone */ }
    }
    spawnSync("ip", ["netns", "del", ns]);
  };
  process.on("exit", onExit);
  return () => process.off("exit", onExit);
}
