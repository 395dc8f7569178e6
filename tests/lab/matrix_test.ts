/**
 * The NAT matrix: the real `tun` relay on the lab's internet, and a host and a
 * guest behind every unordered pair of router kinds. Each pair must take the
 * path hole punching allows in theory, and move a file intact.
 *
 * When can two peers punch through? A peer behind address-and-port-dependent
 * mapping (symmetric, RFC 4787 §4.1) shows the other peer a port nobody could
 * predict from its STUN answer. The other peer's router must then let in a
 * packet from that unknown port: endpoint-independent or address-dependent
 * filtering does (the peer has already sent towards the symmetric site's
 * address), address-and-port-dependent filtering (port-restricted, symmetric)
 * does not. So only {symmetric, symmetric} and {symmetric, port-restricted} need
 * the relay's TURN server; everything else goes direct.
 *
 * In every case the user is already dialling the guest's port when `p2p-join`
 * starts (early_client.ts): that connection must wait for the tunnel, through
 * the direct attempt and, where it fails, the switch to relay mode, and then
 * carry the file intact (sha256).
 *
 * One lab holds a fresh host site and guest site per case and one relay serves
 * them all; cases run one after another, so timings are not disturbed by each
 * other. The table of paths and times is printed at the end.
 */
import path from "node:path";
import { assert, assertEquals } from "../_util/assert.ts";
import {
  DENO,
  isRoot,
  lastWords,
  nextEvent,
  randomFile,
  ROOT,
  startApp,
  startHost,
  startRelay,
} from "../_util/tun.ts";
import { createLab, type Lab, type RouterKind } from "./netns.ts";
import { spawnIn } from "./process.ts";
import { formatTable } from "./table.ts";
import { waitForSockets } from "./sockets.ts";

const MB = 1024 * 1024;
const FILE_BYTES = 4 * MB;

/**
 * The guest's local port. The guest's namespace runs nothing else, and this
 * port lies below the ephemeral range (32768-60999), so it is free by
 * construction: the test knows it before the guest says anything.
 */
const GUEST_PORT = 20_000;

const TUN = [DENO, "run", "-A", "--quiet", path.join(ROOT, "main.ts")];
const EARLY_CLIENT = [DENO, "run", "-A", "--quiet", path.join(ROOT, "tests/lab/early_client.ts")];

const KINDS = [
  "none",
  "full-cone",
  "address-restricted",
  "port-restricted",
  "symmetric",
] as const satisfies readonly RouterKind[];

/** Unordered pairs that cannot punch through (see the comment at the top). */
const RELAY_PAIRS = new Set(["port-restricted+symmetric", "symmetric+symmetric"]);

interface Case {
  host: RouterKind;
  guest: RouterKind;
  expected: "direct" | "relay";
}

function unorderedPairs(): Case[] {
  const cases: Case[] = [];
  KINDS.forEach((host, i) =>
    KINDS.slice(i).forEach((guest) => {
      const key = [host, guest].sort().join("+");
      cases.push({ host, guest, expected: RELAY_PAIRS.has(key) ? "relay" : "direct" });
    })
  );
  return cases;
}

const CASES: Case[] = [
  ...unorderedPairs(),
  // The asymmetric relay pair the other way round: the guest always makes the offer.
  { host: "symmetric", guest: "port-restricted", expected: "relay" },
  // No UDP at all on the guest's side: only TURN over TCP to the relay can work.
  { host: "port-restricted", guest: "udp-blocked", expected: "relay" },
];

/** One line of the printed matrix, filled in as its case runs. */
interface Row {
  c: Case;
  path?: string;
  reason?: string;
  pair?: string;
  wallMs?: number;
  elapsedMs?: number;
  rttMs?: number | null;
  waitedMs?: number;
  downloadMs?: number;
}

const COLUMNS: [string, (r: Row) => unknown][] = [
  ["host", (r) => r.c.host],
  ["guest", (r) => r.c.guest],
  ["expected", (r) => r.c.expected],
  ["path", (r) => r.path],
  ["reason", (r) => r.reason],
  ["guest ↔ host", (r) => r.pair],
  ["ready ms (wall)", (r) => r.wallMs],
  ["ready ms (in tun)", (r) => r.elapsedMs],
  ["rtt ms", (r) => r.rttMs === null ? "?" : r.rttMs],
  ["early conn. waited ms", (r) => r.waitedMs],
  [`${FILE_BYTES / MB} MB ms`, (r) => r.downloadMs],
];

Deno.test({
  name:
    "every pair of NAT kinds connects on the path hole punching allows, and moves a file intact",
  ignore: !isRoot(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    assertEquals(unorderedPairs().length, 15);
    const sites: Record<string, RouterKind> = {};
    CASES.forEach((c, i) => {
      sites[`h${i}`] = c.host;
      sites[`g${i}`] = c.guest;
    });
    await using lab = await createLab({ sites });
    const blob = await randomFile(FILE_BYTES);
    const rows: Row[] = [];
    const started = performance.now();
    try {
      const relay = await startRelay(lab.internet.ns, lab.internet.ip);
      await using _relay = relay.proc;
      const listening = JSON.parse(relay.proc.lines.find((l) => l.includes('"listening"'))!);
      const turnTcpPort = Number(listening.turn_tcp_port);
      assert(turnTcpPort > 0, `the relay runs no TURN over TCP: ${JSON.stringify(listening)}`);

      for (const [i, c] of CASES.entries()) {
        const name = `host ${c.host}, guest ${c.guest}: ${c.expected}`;
        const row: Row = { c };
        rows.push(row);
        await t.step({
          name,
          sanitizeResources: false,
          sanitizeOps: false,
          fn: () =>
            runCase(lab, c, {
              hostSite: `h${i}`,
              guestSite: `g${i}`,
              relayUrl: relay.info.url,
              turnTcpPort,
              blob,
              row,
            }),
        });
      }
    } finally {
      console.log(formatTable(
        COLUMNS.map(([title]) => title),
        rows.map((row) => COLUMNS.map(([, cell]) => cell(row))),
      ));
      console.log(`  matrix total ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await Deno.remove(blob.dir, { recursive: true });
    }
  },
});

interface CaseEnv {
  hostSite: string;
  guestSite: string;
  relayUrl: string;
  turnTcpPort: number;
  blob: { dir: string; name: string; sha256: string };
  row: Row;
}

async function runCase(lab: Lab, c: Case, env: CaseEnv): Promise<void> {
  const hostSite = lab.site(env.hostSite);
  const guestSite = lab.site(env.guestSite);
  const app = await startApp(hostSite.ns, env.blob.dir);
  await using _app = app.proc;
  const host = await startHost(hostSite.ns, app.info.port, ["--relay", env.relayUrl]);
  await using _host = host.proc;

  // The user connects before the tunnel is up: dialling already when the guest starts.
  await using user = spawnIn(guestSite.ns, [...EARLY_CLIENT, String(GUEST_PORT), env.blob.name]);
  await nextEvent(user, "armed");
  const t0 = performance.now();
  await using guest = spawnIn(guestSite.ns, [
    ...TUN,
    "p2p-join",
    host.info.code,
    "--json",
    "--relay",
    env.relayUrl,
    "--port",
    String(GUEST_PORT),
  ]);

  try {
    await nextEvent(user, "connected");
    assert(
      !guest.lines.some((line) => line.includes('"event":"ready"')),
      "the early connection was made after the guest was ready, so it proves nothing",
    );

    const guestPath = await nextEvent(guest, "path", 40_000);
    const ready = await nextEvent(guest, "ready", 5_000);
    const wallMs = Math.round(performance.now() - t0);
    const hostPath = await nextEvent(host.proc, "path", 10_000);
    Object.assign(env.row, {
      path: String(ready.path),
      reason: String(guestPath.reason),
      pair: `${ready.local_candidate} ↔ ${ready.remote_candidate}`,
      wallMs,
      elapsedMs: Number(ready.elapsed_ms),
      rttMs: ready.rtt_ms as number | null,
    });

    assertEquals(ready.port, GUEST_PORT);
    assertEquals(ready.path, c.expected, "guest's path");
    assertEquals(hostPath.path, c.expected, "host's path");
    assertEquals(hostPath.reason, guestPath.reason, "both peers give the same reason");
    const candidates = [
      ready.local_candidate,
      ready.remote_candidate,
      hostPath.local_candidate,
      hostPath.remote_candidate,
    ];
    // "ip:port", or null where libwebrtc's stats give no address (peer-reflexive).
    const remoteIp = hostPath.remote_address === null
      ? null
      : String(hostPath.remote_address).split(":")[0];
    if (c.expected === "relay") {
      assertEquals(candidates, ["relay", "relay", "relay", "relay"], "candidate types");
      // The host's peer is the guest's TURN allocation, on the relay's address.
      assertEquals(remoteIp, lab.internet.ip, "host's remote address is on the relay");
    } else {
      assert(!candidates.includes("relay"), `a direct path used a relay: ${candidates}`);
      assertEquals(guestPath.reason, "connected");
      // The host sees the guest at its public (NATed) address. libwebrtc's stats
      // leave out the address of a peer-reflexive remote.
      if (remoteIp !== null || hostPath.remote_candidate !== "prflx") {
        assertEquals(remoteIp, guestSite.publicIp, "host sees the guest's public address");
      }
    }
    if (c.guest === "udp-blocked") {
      // UDP cannot leave the guest's site, so its allocation runs over TCP to the relay.
      await waitForSockets(lab, guestSite.ns, [
        "-t",
        "state",
        "established",
        `dst ${lab.internet.ip}:${env.turnTcpPort}`,
      ]);
      env.row.pair += " (TURN over TCP)";
    }

    const down = await nextEvent(user, "done", 60_000);
    assertEquals(
      [down.status, down.bytes, down.sha256],
      [200, FILE_BYTES, env.blob.sha256],
      "the early connection's download",
    );
    env.row.waitedMs = Number(down.waited_ms);
    env.row.downloadMs = Number(down.ms);
  } catch (error) {
    env.row.path = env.row.path ? `${env.row.path}, FAILED` : "FAILED";
    throw new Error(
      (error as Error).message +
        lastWords({ host: host.proc, guest, "early client": user }, 200),
    );
  }
}
