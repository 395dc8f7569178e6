/**
 * The NAT lab: a small internet of Linux network namespaces, so traversal tests
 * run real sockets through real NATs on one machine (root only).
 *
 * Topology for `createLab({ sites: { host: "port-restricted", guest: "none" } })`:
 *
 *                         <prefix>-internet
 *                  br0  198.18.0.1/24 (lab.internet.ip)
 *                       198.18.0.2/24 (lab.internet.altIp)
 *                  p0 |                           | p1
 *   ..................|...........................|.....................
 *                wan0 | 198.18.0.10          eth0 | 198.18.0.11
 *          <prefix>-host-router            <prefix>-guest
 *          NAT (nat.ts), ip_forward=1      site host, no NAT ("none")
 *                lan0 | 10.1.0.1
 *                eth0 | 10.1.0.2
 *          <prefix>-host
 *          site host, default via 10.1.0.1
 *
 * Address plan (site i = position in `sites`, from 0):
 * - internet: 198.18.0.0/24, part of the 198.18.0.0/15 benchmarking range (RFC 2544)
 *   so no lab address can be mistaken for a real one. The internet namespace holds
 *   the bridge, .1 for services (a relay, a STUN server) and .2 as a second
 *   address for tests that need two remote IPs. It does not forward IP.
 * - site i: public address 198.18.0.(10+i) on the router's WAN (or on the host
 *   itself for "none"); private LAN 10.(i+1).0.0/24 with the router at .1 and the
 *   host at .2. Routers and "none" hosts route by default to 198.18.0.1, so
 *   nothing in the lab can reach beyond the internet namespace.
 * - IPv6 is disabled in every namespace: the lab is IPv4 only, and no link-local
 *   path can bypass a NAT.
 *
 * Names: every namespace starts with `tunlab-<pid>-<random>`; interfaces live
 * inside the namespaces under fixed short names, so nothing is created in the
 * root namespace and two labs never collide. Creating a lab first removes the
 * namespaces of labs whose owning pid is dead. Closing a lab (also on failure
 * during creation, and best effort on SIGINT/SIGTERM/exit) kills its processes
 * and deletes its namespaces, which deletes their interfaces.
 */
import { spawnSync } from "node:child_process";
import { constants } from "node:os";
import process from "node:process";
import { type NatKind, ROUTER_KINDS, type RouterKind, routerRules } from "./nat.ts";
import {
  exec,
  type ExecOptions,
  type ExecResult,
  type LabProcess,
  run,
  runChecked,
  type RunOptions,
  spawnIn,
} from "./process.ts";

export { BEHAVIOURS, ROUTER_KINDS } from "./nat.ts";
export type { Behaviour, Filtering, Mapping, NatKind, RouterKind } from "./nat.ts";
export type { ExecOptions, ExecResult, ExitStatus, LabProcess, RunOptions } from "./process.ts";

/** Every lab namespace name starts with this. */
export const LAB_PREFIX = "tunlab-";

/** What to build. */
export interface LabOptions {
  /**
   * Site name -> how it reaches the internet. Names are 1-12 lowercase letters or
   * digits, starting with a letter; at most 200 sites.
   */
  sites: Record<string, RouterKind>;
}

/** The internet namespace, where services such as a relay run. */
export interface Internet {
  ns: string;
  /** Address for services; reachable from every site. */
  ip: string;
  /** A second address on the same namespace (a different remote IP for filtering tests). */
  altIp: string;
}

/** One site: a host, behind its own router unless its kind is "none". */
export interface Site {
  name: string;
  kind: RouterKind;
  /** The host's namespace: run the program under test here. */
  ns: string;
  /** The host's own address (private, or public for "none"). */
  ip: string;
  /** The router's namespace; null for "none". */
  routerNs: string | null;
  /** The address the internet sees the site as. */
  publicIp: string;
}

/** A running lab. `await using lab = await createLab(...)` tears it down. */
export interface Lab extends AsyncDisposable {
  /** Common start of every namespace name of this lab. */
  readonly prefix: string;
  readonly internet: Internet;
  /** All namespaces of this lab. */
  readonly namespaces: readonly string[];
  /** The site called `name`; throws for an unknown name. */
  site(name: string): Site;
  /** Run a command in namespace `ns` to completion. */
  exec(ns: string, cmd: string[], options?: ExecOptions): Promise<ExecResult>;
  /** Start a long-lived command in namespace `ns`; it is killed when the lab closes. */
  spawn(ns: string, cmd: string[], options?: RunOptions): LabProcess;
  /** Kill every process and delete every namespace. Idempotent. */
  close(): Promise<void>;
}

const BRIDGE = "br0";
const WAN = "wan0";
const LAN = "lan0";
const HOST_IF = "eth0";
const INTERNET_IP = "198.18.0.1";
const INTERNET_ALT_IP = "198.18.0.2";
const MAX_SITES = 200;
const SITE_NAME = /^[a-z][a-z0-9]{0,11}$/;

/** Build a lab. Removes stale labs first; cleans up after itself if building fails. */
export async function createLab(options: LabOptions): Promise<Lab> {
  const plan = planLab(options);
  await sweepStaleLabs();
  const lab = new NetnsLab(plan);
  try {
    await build(plan);
  } catch (error) {
    await lab.close();
    throw error;
  }
  return lab;
}

interface SitePlan extends Site {
  /** Bridge port in the internet namespace. */
  port: string;
  routerLanIp: string;
}

interface Plan {
  prefix: string;
  internet: Internet;
  sites: SitePlan[];
  namespaces: string[];
}

/** Validate options and work out every name and address. Pure. */
function planLab({ sites }: LabOptions): Plan {
  const entries = Object.entries(sites ?? {});
  if (entries.length > MAX_SITES) throw new Error(`a lab has at most ${MAX_SITES} sites`);
  const random = crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0");
  const prefix = `${LAB_PREFIX}${process.pid}-${random}`;
  const internet = { ns: `${prefix}-internet`, ip: INTERNET_IP, altIp: INTERNET_ALT_IP };
  const planned = entries.map(([name, kind], i): SitePlan => {
    if (!SITE_NAME.test(name) || name === "internet") {
      throw new Error(`site name ${JSON.stringify(name)} must match ${SITE_NAME} (not "internet")`);
    }
    if (!ROUTER_KINDS.includes(kind)) {
      throw new Error(`site ${name}: unknown router kind ${JSON.stringify(kind)}`);
    }
    const publicIp = `198.18.0.${10 + i}`;
    const natted = kind !== "none";
    return {
      name,
      kind,
      ns: `${prefix}-${name}`,
      ip: natted ? `10.${i + 1}.0.2` : publicIp,
      routerNs: natted ? `${prefix}-${name}-router` : null,
      publicIp,
      port: `p${i}`,
      routerLanIp: `10.${i + 1}.0.1`,
    };
  });
  const namespaces = [internet.ns];
  for (const site of planned) {
    if (site.routerNs) namespaces.push(site.routerNs);
    namespaces.push(site.ns);
  }
  return { prefix, internet, sites: planned, namespaces };
}

async function build(plan: Plan): Promise<void> {
  const { internet } = plan;
  await ipBatch(null, plan.namespaces.map((ns) => `netns add ${ns}`));
  await Promise.all(plan.namespaces.map((ns) => {
    const forward = plan.sites.some((s) => s.routerNs === ns) ? 1 : 0;
    // Before any interface exists, so "default" applies to all of them.
    return runChecked([
      "ip",
      "netns",
      "exec",
      ns,
      "sysctl",
      "-q",
      "-w",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
      `net.ipv4.ip_forward=${forward}`,
    ]);
  }));
  await ipBatch(internet.ns, [
    "link set lo up",
    `link add ${BRIDGE} type bridge`,
    `link set ${BRIDGE} up`,
    `addr add ${internet.ip}/24 dev ${BRIDGE}`,
    `addr add ${internet.altIp}/24 dev ${BRIDGE}`,
    ...plan.sites.flatMap((site) => {
      // The far end goes straight into the router (or a "none" host) as its WAN side.
      const [peer, peerNs] = site.routerNs ? [WAN, site.routerNs] : [HOST_IF, site.ns];
      return [
        `link add ${site.port} type veth peer name ${peer} netns ${peerNs}`,
        `link set ${site.port} master ${BRIDGE} up`,
      ];
    }),
  ]);
  await Promise.all(plan.sites.map((site) => buildSite(site)));
}

async function buildSite(site: SitePlan): Promise<void> {
  if (!site.routerNs) {
    await ipBatch(site.ns, [
      "link set lo up",
      `addr add ${site.ip}/24 dev ${HOST_IF}`,
      `link set ${HOST_IF} up`,
      `route add default via ${INTERNET_IP}`,
    ]);
    return;
  }
  await ipBatch(site.routerNs, [
    "link set lo up",
    `link add ${LAN} type veth peer name ${HOST_IF} netns ${site.ns}`,
    `addr add ${site.publicIp}/24 dev ${WAN}`,
    `link set ${WAN} up`,
    `route add default via ${INTERNET_IP}`,
    `addr add ${site.routerLanIp}/24 dev ${LAN}`,
    `link set ${LAN} up`,
  ]);
  const rules = routerRules(site.kind as NatKind, { wan: WAN, lan: LAN, hostIp: site.ip });
  await Promise.all([
    ipBatch(site.ns, [
      "link set lo up",
      `addr add ${site.ip}/24 dev ${HOST_IF}`,
      `link set ${HOST_IF} up`,
      `route add default via ${site.routerLanIp}`,
    ]),
    runChecked(["ip", "netns", "exec", site.routerNs, "iptables-restore"], {
      input: rules.iptables,
    }),
    rules.nft
      ? runChecked(["ip", "netns", "exec", site.routerNs, "nft", "-f", "-"], { input: rules.nft })
      : null,
  ]);
}

/** Run `ip` commands in one process (inside `ns` unless null); stops at the first error. */
function ipBatch(ns: string | null, commands: string[]): Promise<string> {
  const argv = ns ? ["ip", "-n", ns, "-batch", "-"] : ["ip", "-batch", "-"];
  return runChecked(argv, { input: commands.join("\n") + "\n" });
}

class NetnsLab implements Lab {
  readonly prefix: string;
  readonly internet: Internet;
  readonly namespaces: readonly string[];
  readonly #sites: Map<string, Site>;
  readonly #processes = new Set<LabProcess>();
  #closing: Promise<void> | null = null;

  constructor(plan: Plan) {
    this.prefix = plan.prefix;
    this.internet = plan.internet;
    this.namespaces = plan.namespaces;
    this.#sites = new Map(
      plan.sites.map(({ name, kind, ns, ip, routerNs, publicIp }) => [
        name,
        { name, kind, ns, ip, routerNs, publicIp },
      ]),
    );
    register(this);
  }

  site(name: string): Site {
    const site = this.#sites.get(name);
    if (!site) throw new Error(`no site ${JSON.stringify(name)} in this lab`);
    return site;
  }

  exec(ns: string, cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    this.#checkNamespace(ns);
    return exec(ns, cmd, options);
  }

  spawn(ns: string, cmd: string[], options?: RunOptions): LabProcess {
    this.#checkNamespace(ns);
    const child = spawnIn(ns, cmd, options);
    this.#processes.add(child);
    child.exited.then(() => this.#processes.delete(child));
    return child;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** For exit and signal handlers, which cannot wait for promises. */
  closeSync(): void {
    for (const child of this.#processes) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (const ns of this.namespaces) removeNamespaceSync(ns);
  }

  async #close(): Promise<void> {
    try {
      await Promise.all([...this.#processes].map((child) => child.kill()));
      await removeNamespaces(this.namespaces);
    } finally {
      unregister(this);
    }
  }

  #checkNamespace(ns: string) {
    if (this.#closing) throw new Error("the lab is closed");
    if (!this.namespaces.includes(ns)) throw new Error(`${ns} is not a namespace of this lab`);
  }
}

/** Kill whatever still runs in the namespaces, then delete them. Missing ones are fine. */
async function removeNamespaces(namespaces: readonly string[]): Promise<void> {
  const existing = new Set(await listNamespaces());
  await Promise.all(
    namespaces.filter((ns) => existing.has(ns)).map(async (ns) => {
      const pids = await run(["ip", "netns", "pids", ns]);
      for (const pid of pids.stdout.split("\n").filter(Boolean)) killPid(Number(pid));
      const result = await run(["ip", "netns", "del", ns]);
      if (result.code !== 0 && (await listNamespaces()).includes(ns)) {
        throw new Error(`ip netns del ${ns}: ${result.stderr.trim()}`);
      }
    }),
  );
}

function removeNamespaceSync(ns: string) {
  const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" });
  for (const pid of (pids.stdout ?? "").split("\n").filter(Boolean)) killPid(Number(pid));
  spawnSync("ip", ["netns", "del", ns]);
}

async function listNamespaces(): Promise<string[]> {
  const out = await runChecked(["ip", "netns", "list"]);
  return out.split("\n").map((line) => line.split(" ")[0]).filter(Boolean);
}

/** Remove the namespaces of labs whose owning process is gone (crashed runs). */
async function sweepStaleLabs(): Promise<void> {
  const stale = (await listNamespaces()).filter((ns) => {
    const owner = ns.startsWith(LAB_PREFIX) && /^(\d+)-/.exec(ns.slice(LAB_PREFIX.length));
    return owner && !isAlive(Number(owner[1]));
  });
  await removeNamespaces(stale);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

function killPid(pid: number) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

// Best-effort teardown when the process is interrupted or exits without closing.
// Handlers are installed only while a lab is open, so they never outlive a test.
const openLabs = new Set<NetnsLab>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function onSignal(signal: NodeJS.Signals) {
  onExit();
  process.exit(128 + (constants.signals[signal] ?? 0));
}

function onExit() {
  for (const lab of openLabs) lab.closeSync();
  openLabs.clear();
}

function register(lab: NetnsLab) {
  if (openLabs.size === 0) {
    for (const signal of SIGNALS) process.on(signal, onSignal);
    process.on("exit", onExit);
  }
  openLabs.add(lab);
}

function unregister(lab: NetnsLab) {
  if (!openLabs.delete(lab) || openLabs.size > 0) return;
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off("exit", onExit);
}
