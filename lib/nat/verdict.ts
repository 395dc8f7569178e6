/**
 * What NAT behaviour means for a direct path: the pairwise rule the peers
 * use to skip a direct attempt that cannot work, and the plain-words verdict
 * `tun debug nat-type` prints. Pure functions; probe.ts measures the inputs.
 *
 * The model (RFC 4787 terms). Both peers learn their public address from the
 * relay, swap them, and send to each other at once (ICE). A's first packet
 * reaches B only if B's NAT lets it in on the port B's public address names:
 *
 *   - B filters endpoint-independently (full cone): anything gets in; or
 *   - B maps endpoint-independently, so B's own packets to A left from that
 *     same port and opened it: to A's IP (B filters address-dependently), or
 *     to A's exact address, which is where A's packet comes from only if A
 *     maps endpoint-independently too (B filters address-and-port-dependently).
 *
 * A peer whose NAT maps per destination (address- or address-and-port-
 * dependent, "symmetric") sends from a port nobody was told about. Once one
 * packet is in, the receiver answers to where it came from (a peer-reflexive
 * candidate), and that answer gets back if the receiver maps endpoint-
 * independently (it leaves from the port the sender aimed at) or the sender
 * does not filter by port. Address-dependent mapping is treated like
 * address-and-port-dependent: either way the port a peer sees is not the one
 * the relay saw.
 */

/** RFC 4787's three behaviours, for mapping (§4.1) and filtering (§5). */
export type Behaviour =
  | "endpoint-independent"
  | "address-dependent"
  | "address-and-port-dependent";

/** What a peer knows of its own NAT: the part of a NatReport the other peer needs. */
export interface NatBehaviour {
  udp: boolean;
  /** null: not determined. */
  mapping: Behaviour | null;
  /** null: not determined. */
  filtering: Behaviour | null;
  /** false: the public address changed between two requests (treated as per-destination mapping). */
  mapping_stable?: boolean | null;
}

const BEHAVIOURS: readonly Behaviour[] = [
  "endpoint-independent",
  "address-dependent",
  "address-and-port-dependent",
];

/** A fully known NAT, for the model. */
interface Known {
  eim: boolean;
  filtering: Behaviour;
}

/** A's first packet gets through B's NAT (see the file comment). */
function admitted(a: Known, b: Known): boolean {
  if (b.filtering === "endpoint-independent") return true;
  if (!b.eim) return false;
  return b.filtering === "address-dependent" || a.eim;
}

/** B's answer to wherever A's packet came from gets back through A's NAT. */
function answered(a: Known, b: Known): boolean {
  return b.eim || a.filtering !== "address-and-port-dependent";
}

function works(a: Known, b: Known): boolean {
  return (admitted(a, b) && answered(a, b)) || (admitted(b, a) && answered(b, a));
}

/** Every fully known NAT `n` could be; none when UDP is blocked. */
function completions(n: NatBehaviour): Known[] {
  if (!n.udp) return [];
  const eims = n.mapping_stable === false
    ? [false]
    : n.mapping === null
    ? [true, false]
    : [n.mapping === "endpoint-independent"];
  const filterings = n.filtering === null ? BEHAVIOURS : [n.filtering];
  return eims.flatMap((eim) => filterings.map((filtering) => ({ eim, filtering })));
}

/**
 * Whether two peers can make a direct UDP path by hole punching: true when
 * it should work, false when it cannot (skip the direct attempt), null when
 * what is unknown about either NAT decides it.
 */
export function directPossible(a: NatBehaviour, b: NatBehaviour): boolean | null {
  if (!a.udp || !b.udp) return false;
  const outcomes = new Set<boolean>();
  for (const x of completions(a)) for (const y of completions(b)) outcomes.add(works(x, y));
  return outcomes.size === 1 ? [...outcomes][0] : null;
}

/** The verdicts, in plain words. */
export const Verdicts = {
  likely: "direct connections likely",
  notSymmetric:
    "direct connections likely, except with peers behind a symmetric NAT (those use the relay)",
  maybeNotSymmetric: "direct connections likely, except perhaps with peers behind a symmetric NAT",
  onlyOpen: "direct only with peers whose NAT keeps one public port per socket and does not " +
    "filter by port (full-cone or address-restricted); with most others, expect relay",
  relay: "expect relay: UDP to the relay is blocked, so traffic needs TURN over TCP",
  unknown: "unknown: the NAT's mapping could not be tested; direct connections may or may not work",
} as const;

/**
 * The verdict for one NAT, by mapping then filtering. It agrees with
 * {@link directPossible} over every kind of peer (tests/nat/verdict_test.ts).
 */
const TABLE: Record<Behaviour, Record<Behaviour | "unknown", string>> = {
  "endpoint-independent": {
    // Full cone: the public port takes packets from anyone.
    "endpoint-independent": Verdicts.likely,
    // Restricted cone: sending to a peer's address opens the port to its IP,
    // whatever port a symmetric peer's packets come from.
    "address-dependent": Verdicts.likely,
    // Port-restricted cone (most home routers): opens only to the exact
    // address a peer was told, which a symmetric peer does not send from.
    "address-and-port-dependent": Verdicts.notSymmetric,
    unknown: Verdicts.maybeNotSymmetric,
  },
  // Symmetric: peers are told a port we do not send from. Only a peer that
  // lets our real port in (full or restricted cone) can answer; our own
  // filtering only decides whether another symmetric peer could, rarely.
  "address-dependent": {
    "endpoint-independent": Verdicts.onlyOpen,
    "address-dependent": Verdicts.onlyOpen,
    "address-and-port-dependent": Verdicts.onlyOpen,
    unknown: Verdicts.onlyOpen,
  },
  "address-and-port-dependent": {
    "endpoint-independent": Verdicts.onlyOpen,
    "address-dependent": Verdicts.onlyOpen,
    "address-and-port-dependent": Verdicts.onlyOpen,
    unknown: Verdicts.onlyOpen,
  },
};

/** The plain-words verdict for a probed NAT. */
export function natVerdict(nat: NatBehaviour): string {
  if (!nat.udp) return Verdicts.relay;
  // A mapping that moves between two requests cannot be told to a peer either.
  const mapping = nat.mapping_stable === false ? "address-and-port-dependent" : nat.mapping;
  if (mapping === null) return Verdicts.unknown;
  return TABLE[mapping][nat.filtering ?? "unknown"];
}
