/**
 * Authentication of a browser guest's WebTransport session to the host, with
 * keys derived from the join code's PAKE (lib/peer/auth.ts), so the relay that
 * carries the offer can neither swap the certificate nor connect itself.
 *
 *   host  -> guest (signalling)   webtransport {urls, cert_hash, tag}
 *                                 tag = HMAC-SHA256(K, "offer" 0 cert_hash urls...)
 *   guest -> host (first stream)  peer (u32 BE) | HMAC-SHA256(K, "client" 0 peer)
 *   host  -> guest                0x01, then the session carries tunnel streams
 *
 * K = the PAKE session's deriveKey(WEBTRANSPORT_KEY_LABEL, 32). The
 * certificate hash is what the browser pins (serverCertificateHashes), so a
 * verified offer means the QUIC handshake reaches the host and nobody else.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { equalBytes } from "@noble/curves/utils.js";

export const WEBTRANSPORT_KEY_LABEL = "tun webtransport v1";
/** Bytes of the guest's proof on its first stream. */
export const CLIENT_PROOF_LENGTH = 4 + 32;
/** The host's one-byte answer to a good proof. */
export const PROOF_ACCEPTED = 1;

export function offerTag(key: Uint8Array, certHash: Uint8Array, urls: string[]): Uint8Array {
  return hmac(
    sha256,
    key,
    concatBytes(utf8ToBytes("offer\0"), certHash, utf8ToBytes(urls.join("\n"))),
  );
}

export function checkOfferTag(
  key: Uint8Array,
  certHash: Uint8Array,
  urls: string[],
  tag: Uint8Array,
): boolean {
  return equalBytes(offerTag(key, certHash, urls), tag);
}

function peerBytes(peer: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, peer);
  return b;
}

/** The guest's proof: its peer id in the session and a tag over it. */
export function clientProof(key: Uint8Array, peer: number): Uint8Array {
  const id = peerBytes(peer);
  return concatBytes(id, hmac(sha256, key, concatBytes(utf8ToBytes("client\0"), id)));
}

/** The peer id a proof claims (check it with {@link checkClientProof}). */
export function proofPeer(proof: Uint8Array): number | null {
  if (proof.byteLength !== CLIENT_PROOF_LENGTH) return null;
  return new DataView(proof.buffer, proof.byteOffset, 4).getUint32(0);
}

export function checkClientProof(key: Uint8Array, proof: Uint8Array): boolean {
  const peer = proofPeer(proof);
  return peer !== null && equalBytes(clientProof(key, peer), proof);
}
