/**
 * Whether two peers' NATs rule a direct path out (pure; the browser guest's
 * page uses it too, so it imports nothing that needs sockets).
 */
import { directPossible } from "../nat/verdict.ts";
import type { NatInfo } from "../signal/mod.ts";

/** "symmetric", "port-restricted", ...: the usual names, for a reason a person reads. */
function kind(n: NatInfo): string {
  if (!n.udp) return "UDP-blocked";
  if (n.mapping && n.mapping !== "endpoint-independent") return "symmetric";
  if (n.filtering === "address-and-port-dependent") return "port-restricted";
  if (n.filtering === "address-dependent") return "address-restricted";
  if (n.filtering === "endpoint-independent") return "full-cone";
  return "unknown";
}

/**
 * Why a direct path cannot work, or null when it might. Only certain failure
 * counts: both peers reached the relay over UDP, their NATs are known well
 * enough to rule hole punching out, and they are not behind the same public
 * IP (peers on one LAN can still meet on their private addresses).
 */
export function impossibleDirect(own: NatInfo, host: NatInfo): string | null {
  if (!own.udp || !host.udp) return null; // the relay's UDP may be blocked, not the LAN's
  if (own.public_ip !== null && own.public_ip === host.public_ip) return null;
  if (directPossible(own, host) !== false) return null;
  const a = kind(own);
  const b = kind(host);
  return a === "symmetric" && b === "symmetric"
    ? "both peers are behind symmetric NATs"
    : `hole punching cannot work: ${a} NAT here, ${b} NAT at the host`;
}

/**
 * Both peers' NAT reports as they arrive (either order); once both are in,
 * calls `impossible` with the reason if they rule a direct path out.
 */
export class NatPair {
  #own: NatInfo | undefined;
  #host: NatInfo | undefined;
  readonly #impossible: (reason: string) => void;

  constructor(impossible: (reason: string) => void) {
    this.#impossible = impossible;
  }

  set(which: "own" | "host", info: NatInfo): void {
    if (which === "own") this.#own = info;
    else this.#host = info;
    if (!this.#own || !this.#host) return;
    const reason = impossibleDirect(this.#own, this.#host);
    if (reason) this.#impossible(reason);
  }
}
