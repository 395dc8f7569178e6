/**
 * A browser guest's WebTransport offer and proof (lib/peer/webtransport_auth.ts):
 * only holders of the PAKE key make ones that verify, and any change the relay
 * could make (another certificate, another address, another guest) is caught.
 */
import { assert, assertEquals } from "../_util/assert.ts";
import {
  checkClientProof,
  checkOfferTag,
  CLIENT_PROOF_LENGTH,
  clientProof,
  offerTag,
  proofPeer,
} from "../../lib/peer/webtransport_auth.ts";

const key = new Uint8Array(32).fill(1);
const other = new Uint8Array(32).fill(2);
const hash = new Uint8Array(32).fill(3);
const urls = ["https://198.18.0.5:4433/tun", "https://10.0.0.5:4433/tun"];

Deno.test("an offer verifies with the same key, certificate hash and URLs only", () => {
  const tag = offerTag(key, hash, urls);
  assert(checkOfferTag(key, hash, urls, tag));
  assert(!checkOfferTag(other, hash, urls, tag), "another key");
  assert(!checkOfferTag(key, new Uint8Array(32).fill(4), urls, tag), "a swapped certificate");
  assert(!checkOfferTag(key, hash, ["https://203.0.113.9:4433/tun"], tag), "another address");
  assert(!checkOfferTag(key, hash, [urls[1], urls[0]], tag), "reordered addresses");
  assert(!checkOfferTag(key, hash, urls, tag.slice(0, 31)), "a truncated tag");
});

Deno.test("a client proof names its guest and verifies only under the session's key", () => {
  const proof = clientProof(key, 7);
  assertEquals(proof.byteLength, CLIENT_PROOF_LENGTH);
  assertEquals(proofPeer(proof), 7);
  assert(checkClientProof(key, proof));
  assert(!checkClientProof(other, proof), "another key");
  const relabelled = proof.slice();
  relabelled[3] = 8; // claims to be guest 8 with guest 7's tag
  assert(!checkClientProof(key, relabelled));
  assertEquals(proofPeer(new Uint8Array(5)), null);
  assert(!checkClientProof(key, new Uint8Array(CLIENT_PROOF_LENGTH)));
});
