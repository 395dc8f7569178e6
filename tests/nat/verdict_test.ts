/** What NAT behaviour means for a direct path (lib/nat/verdict.ts). */
import { assertEquals } from "../_util/assert.ts";
import {
  type Behaviour,
  directPossible,
  type NatBehaviour,
  natVerdict,
  Verdicts,
} from "../../lib/nat/mod.ts";

const EI = "endpoint-independent";
const AD = "address-dependent";
const APD = "address-and-port-dependent";
const BEHAVIOURS: Behaviour[] = [EI, AD, APD];

const nat = (mapping: Behaviour | null, filtering: Behaviour | null): NatBehaviour => ({
  udp: true,
  mapping,
  filtering,
});
const fullCone = nat(EI, EI);
const addressRestricted = nat(EI, AD);
const portRestricted = nat(EI, APD);
const symmetric = nat(APD, APD);
const blocked: NatBehaviour = { udp: false, mapping: null, filtering: null };

Deno.test("pairs the NAT lab connected or could not connect are judged the same way", () => {
  // /work/shared/FACTS.md: two port-restricted NATs punched through; symmetric
  // with port-restricted did not, and needed TURN.
  assertEquals(directPossible(portRestricted, portRestricted), true);
  assertEquals(directPossible(symmetric, portRestricted), false);
  assertEquals(directPossible(portRestricted, symmetric), false);
});

Deno.test("a symmetric NAT can only go direct with a peer that lets its real port in", () => {
  assertEquals(directPossible(symmetric, symmetric), false);
  assertEquals(directPossible(symmetric, fullCone), true);
  assertEquals(directPossible(symmetric, addressRestricted), true);
  assertEquals(directPossible(nat(AD, AD), portRestricted), false);
});

Deno.test("UDP blocked on either side rules a direct path out", () => {
  assertEquals(directPossible(blocked, fullCone), false);
  assertEquals(directPossible(fullCone, blocked), false);
});

Deno.test("an unknown that decides the outcome gives null; one that does not, an answer", () => {
  // Our filtering decides whether a symmetric peer gets in.
  assertEquals(directPossible(nat(EI, null), symmetric), null);
  // The peer's mapping decides it against a port-restricted NAT.
  assertEquals(directPossible(portRestricted, nat(null, APD)), null);
  // A full cone works with every peer that has UDP at all.
  assertEquals(directPossible(fullCone, nat(null, null)), true);
  // An unstable mapping counts as per-destination.
  assertEquals(directPossible({ ...portRestricted, mapping_stable: false }, portRestricted), false);
});

/** Every fully known peer, ADM included. */
const PEERS = BEHAVIOURS.flatMap((m) => BEHAVIOURS.map((f) => nat(m, f)));

Deno.test("each verdict says which peers a direct path works with, as directPossible finds", () => {
  for (const mapping of BEHAVIOURS) {
    for (const filtering of BEHAVIOURS) {
      const own = nat(mapping, filtering);
      const verdict = natVerdict(own);
      const withPeer = (peer: NatBehaviour) => directPossible(own, peer);
      const what = `${mapping} mapping, ${filtering} filtering: ${verdict}`;
      if (verdict === Verdicts.likely) {
        assertEquals(PEERS.map(withPeer), PEERS.map(() => true), what);
      } else if (verdict === Verdicts.notSymmetric) {
        assertEquals(PEERS.map(withPeer), PEERS.map((p) => p.mapping === EI), what);
      } else {
        assertEquals(verdict, Verdicts.onlyOpen, what);
        assertEquals(
          [fullCone, addressRestricted, portRestricted].map(withPeer),
          [true, true, false],
          what,
        );
      }
    }
  }
});

Deno.test("the verdict table: cones are likely, port-restricted spares symmetric peers, symmetric needs open peers", () => {
  assertEquals(natVerdict(fullCone), Verdicts.likely);
  assertEquals(natVerdict(addressRestricted), Verdicts.likely);
  assertEquals(natVerdict(portRestricted), Verdicts.notSymmetric);
  assertEquals(natVerdict(nat(EI, null)), Verdicts.maybeNotSymmetric);
  assertEquals(natVerdict(symmetric), Verdicts.onlyOpen);
  assertEquals(natVerdict(nat(AD, EI)), Verdicts.onlyOpen);
  assertEquals(natVerdict({ ...fullCone, mapping_stable: false }), Verdicts.onlyOpen);
  assertEquals(natVerdict(nat(null, EI)), Verdicts.unknown);
  assertEquals(natVerdict(blocked), Verdicts.relay);
});
