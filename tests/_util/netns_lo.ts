/**
 * One private network namespace for loopback integration tests: `lo` plus a
 * veth pair (10.77.0.1/24) carrying the default route, so WebRTC has a normal
 * interface and LAN multicast discovery has somewhere to go. Nothing in it can
 * reach outside the machine. Removed on dispose, whatever happened.
 */
import { run, runChecked } from "../lab/process.ts";
import { LAB_PREFIX } from "../lab/netns.ts";

export interface LoopbackNs extends AsyncDisposable {
  ns: string;
  /** Address of the namespace's non-loopback interface. */
  lanIp: string;
}

export async function createLoopbackNs(): Promise<LoopbackNs> {
  // Named like a lab namespace, so a later lab sweeps it up if this run crashes.
  const hex = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, "0");
  const ns = `${LAB_PREFIX}${Deno.pid}-${hex}-lo`;
  const lanIp = "10.77.0.1";
  await runChecked(["ip", "netns", "add", ns]);
  const remove = async () => {
    const pids = (await run(["ip", "netns", "pids", ns])).stdout.split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch { /* gone */ }
    }
    await run(["ip", "netns", "del", ns]);
  };
  try {
    // IPv4 only, before any interface exists, as in the lab: IPv6 addresses
    // appearing a moment later (after duplicate address detection) make
    // Chromium abort its requests with ERR_NETWORK_CHANGED.
    await runChecked([
      "ip",
      "netns",
      "exec",
      ns,
      "sysctl",
      "-q",
      "-w",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    for (
      const cmd of [
        ["link", "set", "lo", "up"],
        ["link", "add", "tv0", "type", "veth", "peer", "name", "tv1"],
        ["addr", "add", `${lanIp}/24`, "dev", "tv0"],
        ["link", "set", "tv0", "up"],
        ["link", "set", "tv1", "up"],
        ["route", "add", "default", "dev", "tv0"],
      ]
    ) await runChecked(["ip", "-n", ns, ...cmd]);
  } catch (err) {
    await remove();
    throw err;
  }
  return { ns, lanIp, [Symbol.asyncDispose]: remove };
}
