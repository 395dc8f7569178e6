/**
 * Waiting on sockets inside a lab namespace with `ss` (iproute2), for facts a
 * program does not print: that a port listens, that a client's connection was
 * accepted, that a TCP connection to some server is up.
 */
import type { Lab } from "./netns.ts";

/**
 * Resolves with the sockets `ss -Hn <filter...>` lists in `ns` once it lists at
 * least one, e.g. `["-tl", "sport = :8080"]` or `["-t", "state", "established",
 * "dst 198.18.0.1:3478"]`. Rejects after `timeoutMs` with the last listing.
 */
export async function waitForSockets(
  lab: Lab,
  ns: string,
  filter: string[],
  timeoutMs = 10_000,
): Promise<string[]> {
  const argv = ["ss", "-Hn", ...filter];
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const r = await lab.exec(ns, argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
    const sockets = r.stdout.split("\n").filter((line) => line.trim());
    if (sockets.length > 0) return sockets;
    if (performance.now() > deadline) {
      const all = await lab.exec(ns, ["ss", "-Hnatu"]);
      throw new Error(`no socket matched ${argv.join(" ")} within ${timeoutMs} ms:\n${all.stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
