/**
 * Who is at the other end of a peer-to-peer QUIC connection. TLS proves the
 * server: each peer dials with the other's self-signed certificate as the
 * only trust anchor, and both certificates' SHA-256 fingerprints are bound to
 * the join code's PAKE by key confirmation (lib/peer/auth.ts). Deno's QUIC has
 * no client certificates, so the dialling side proves itself on the
 * connection's first stream (the control stream) with a key from that PAKE:
 *
 *     client -> server   proof: peer (u32 BE) | role (1: guest, 2: host) |
 *                               HMAC-SHA256(K, "tun quic client" 0 role peer)
 *     server -> client   ACCEPTED (0x01), or the connection is closed
 *     guest  -> host     SELECT (0x02) on the connection it keeps; the guest
 *                        then closes the others and opens one stream per
 *                        TCP connection on this one
 *
 * K = the PAKE session's deriveKey(QUIC_PROOF_LABEL, 32). The proof is sent
 * inside TLS to a pinned server, so nobody else sees it to replay it. `peer`
 * is the guest's id in the session: the host's one endpoint serves every
 * guest and learns from it whose key to check.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { equalBytes } from "@noble/curves/utils.js";

/** ALPN between peers. */
export const PEER_ALPN = "tun/1";
/** The name in every peer certificate, checked by the dialling side. */
export const PEER_SERVER_NAME = "tun-peer";
export const QUIC_PROOF_LABEL = "tun quic proof v1";
/** Label of the base key that seals relay-mode streams end to end (sealed.ts). */
export const QUIC_SEAL_LABEL = "tun quic seal v1";
export const PROOF_LENGTH = 4 + 1 + 32;
export const ACCEPTED = 0x01;
export const SELECT = 0x02;

export type ProofRole = "guest" | "host";
const ROLE_BYTE: Record<ProofRole, number> = { guest: 1, host: 2 };

function body(peer: number, role: ProofRole): Uint8Array {
  const b = new Uint8Array(5);
  new DataView(b.buffer).setUint32(0, peer);
  b[4] = ROLE_BYTE[role];
  return b;
}

/** The dialling side's proof for guest `peer`'s connection. */
export function clientProof(key: Uint8Array, peer: number, role: ProofRole): Uint8Array {
  const b = body(peer, role);
  return concatBytes(b, hmac(sha256, key, concatBytes(utf8ToBytes("tun quic client\0"), b)));
}

/** Untrusted bytes enter here. The guest id and role a proof claims (check it with the key). */
export function proofClaim(proof: Uint8Array): { peer: number; role: ProofRole } | null {
  if (proof.byteLength !== PROOF_LENGTH) return null;
  const role = proof[4] === 1 ? "guest" : proof[4] === 2 ? "host" : null;
  if (!role) return null;
  return { peer: new DataView(proof.buffer, proof.byteOffset, 4).getUint32(0), role };
}

/** Whether `proof` is the one `role` makes for guest `peer` under `key`. */
export function checkProof(
  key: Uint8Array,
  proof: Uint8Array,
  peer: number,
  role: ProofRole,
): boolean {
  return proof.byteLength === PROOF_LENGTH && equalBytes(clientProof(key, peer, role), proof);
}

/** "SHA-256 AB:CD:..." of a certificate's DER, the form the PAKE transcript takes. */
export async function certFingerprint(der: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", der as Uint8Array<ArrayBuffer>),
  );
  return `SHA-256 ${
    Array.from(digest, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":")
  }`;
}
