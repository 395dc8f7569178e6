/**
 * What each kind of lab router does, in RFC 4787 terms, and the netfilter rules
 * that make a Linux namespace behave that way. This table is the extension point:
 * a new kind is one entry in `BEHAVIOURS` (plus, if it needs a new mechanism, a
 * branch in `routerRules`).
 *
 * Mechanisms used:
 * - Mapping (RFC 4787 §4.1). `MASQUERADE` keeps the host's source port whenever it
 *   is free, and reuses one mapping for every destination: endpoint-independent.
 *   `MASQUERADE --random-fully` picks a fresh random port per 5-tuple:
 *   address-and-port-dependent ("symmetric").
 * - Filtering (RFC 4787 §5). Conntrack alone lets in only replies to the exact
 *   remote address and port: address-and-port-dependent. Looser filtering is an
 *   nftables set filled by outbound UDP (after SNAT, so it holds the mapped port)
 *   and a DNAT that sends matching inbound UDP to the site host. The DNAT keeps
 *   the port, which is right because MASQUERADE preserved it: a site has one host
 *   and the router itself uses no ports.
 * - Every router drops unsolicited packets addressed to itself (INPUT, NEW or
 *   INVALID on the WAN side), as home routers do. Without that rule a peer's early
 *   hole-punch packet creates a conntrack entry that steals the mapped port, and
 *   punching between two such NATs fails (see /work/shared/FACTS.md, NAT lab).
 */

/** How a lab site reaches the internet. */
export type RouterKind =
  | "none"
  | "full-cone"
  | "address-restricted"
  | "port-restricted"
  | "symmetric"
  | "udp-blocked";

/** Kinds that put a router namespace in front of the site host. */
export type NatKind = Exclude<RouterKind, "none">;

/** RFC 4787 §4.1 mapping behaviour. */
export type Mapping = "endpoint-independent" | "address-and-port-dependent";

/** RFC 4787 §5 filtering behaviour. */
export type Filtering =
  | "endpoint-independent"
  | "address-dependent"
  | "address-and-port-dependent";

/** What a router of one kind does to UDP. */
export interface Behaviour {
  mapping: Mapping;
  filtering: Filtering;
  /** False when the router drops all UDP both ways (TCP still passes, NATed). */
  udp: boolean;
}

/** The behaviour of every router kind; "none" has no router. */
export const BEHAVIOURS: Readonly<Record<NatKind, Behaviour>> = {
  "full-cone": { mapping: "endpoint-independent", filtering: "endpoint-independent", udp: true },
  "address-restricted": {
    mapping: "endpoint-independent",
    filtering: "address-dependent",
    udp: true,
  },
  "port-restricted": {
    mapping: "endpoint-independent",
    filtering: "address-and-port-dependent",
    udp: true,
  },
  "symmetric": {
    mapping: "address-and-port-dependent",
    filtering: "address-and-port-dependent",
    udp: true,
  },
  "udp-blocked": {
    mapping: "endpoint-independent",
    filtering: "address-and-port-dependent",
    udp: false,
  },
};

/** Every valid `RouterKind`, for validating options. */
export const ROUTER_KINDS: readonly RouterKind[] = [
  "none",
  ...Object.keys(BEHAVIOURS) as NatKind[],
];

/** Interfaces and addresses inside one router namespace. */
export interface RouterPorts {
  /** Interface on the internet bridge. */
  wan: string;
  /** Interface towards the site host. */
  lan: string;
  /** The site host's LAN address (DNAT target for looser filtering). */
  hostIp: string;
}

/** Rule sets to load into a router namespace. */
export interface RouterRules {
  /** Input for `iptables-restore` (replaces the filter and nat tables). */
  iptables: string;
  /** Input for `nft -f`, or "" when conntrack alone does the filtering. */
  nft: string;
}

/** How long an nftables filtering entry lives after its last outbound packet. */
const FILTER_TIMEOUT = "120s";

/** The netfilter rules for a router of `kind`. */
export function routerRules(kind: NatKind, ports: RouterPorts): RouterRules {
  const behaviour = BEHAVIOURS[kind];
  if (!behaviour) throw new Error(`unknown router kind ${JSON.stringify(kind)}`);
  const { wan, lan } = ports;
  const random = behaviour.mapping === "address-and-port-dependent" ? " --random-fully" : "";
  const looseFilter = behaviour.udp && behaviour.filtering !== "address-and-port-dependent";
  const filter = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD DROP [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    `-A INPUT -i ${wan} -m conntrack --ctstate NEW,INVALID -j DROP`,
    ...(behaviour.udp ? [] : ["-A FORWARD -p udp -j DROP"]),
    `-A FORWARD -i ${lan} -o ${wan} -j ACCEPT`,
    `-A FORWARD -i ${wan} -o ${lan} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
    // Inbound UDP that the nftables filter below chose to let in arrives DNATed.
    ...(looseFilter
      ? [`-A FORWARD -i ${wan} -o ${lan} -p udp -m conntrack --ctstate DNAT -j ACCEPT`]
      : []),
    "COMMIT",
  ];
  const nat = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    `-A POSTROUTING -o ${wan} -j MASQUERADE${random}`,
    "COMMIT",
  ];
  return {
    iptables: [...filter, ...nat, ""].join("\n"),
    nft: looseFilter ? looseFilterRules(behaviour.filtering, ports) : "",
  };
}

/**
 * Endpoint-independent filtering remembers mapped ports; address-dependent
 * filtering remembers (remote address, mapped port) pairs. The outbound chain
 * runs after SNAT (priority srcnat + 10) so it sees the mapped port; the inbound
 * chain runs before the nat table's own DNAT.
 */
function looseFilterRules(filtering: Filtering, { wan, hostIp }: RouterPorts): string {
  const byAddress = filtering === "address-dependent";
  const type = byAddress ? "ipv4_addr . inet_service" : "inet_service";
  const outKey = byAddress ? "ip daddr . udp sport" : "udp sport";
  const inKey = byAddress ? "ip saddr . udp dport" : "udp dport";
  return `table ip tunlab {
  set mapped {
    type ${type}
    flags dynamic,timeout
    timeout ${FILTER_TIMEOUT}
  }
  chain outbound {
    type filter hook postrouting priority srcnat + 10; policy accept;
    oifname "${wan}" meta l4proto udp update @mapped { ${outKey} }
  }
  chain inbound {
    type nat hook prerouting priority dstnat - 10; policy accept;
    iifname "${wan}" meta l4proto udp ${inKey} @mapped dnat to ${hostIp}
  }
}
`;
}
