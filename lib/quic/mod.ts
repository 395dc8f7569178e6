/**
 * QUIC for tun (Deno with `--unstable-net`; check `hasQuic()` from
 * lib/runtime; Bun has no QUIC):
 *
 * - A WebTransport server that browsers connect to by pinning a certificate
 *   hash, renewed (new cert, new port) before the browsers' 14-day limit.
 * - The QUIC data plane between two `tun` peers: a {@link PeerEndpoint} that
 *   learns its public address from the relay's QUIC listener and dials the
 *   other peer from that same UDP port (a simultaneous open), proofs of the
 *   join code on each connection's control stream (proof.ts, control.ts),
 *   and, in relay mode, streams spliced by the relay (relay_wire.ts,
 *   {@link RelayLink}) and sealed end to end (sealed.ts).
 *
 * @example
 * ```ts
 * const wt = await WebTransportEndpoint.start({ ips: ["192.0.2.7"] });
 * wt.onsession = (session) => { ... session.path, session.incomingBidirectionalStreams ... };
 * const { port, certSha256 } = wt.current; // tell the browser
 * ```
 */
export {
  WebTransportEndpoint,
  type WebTransportEndpointOptions,
  WebTransportOptionsError,
  type WebTransportTarget,
} from "./webtransport.ts";
export type { WebTransportSessionLike, WebTransportStreamLike } from "../runtime/mod.ts";
export { PeerEndpoint, type PeerEndpointOptions } from "./peer_endpoint.ts";
export { RelayLink, RelayRefusedError } from "./relay_client.ts";
export {
  certFingerprint,
  checkProof,
  clientProof,
  PEER_ALPN,
  proofClaim,
  QUIC_PROOF_LABEL,
  QUIC_SEAL_LABEL,
} from "./proof.ts";
export { RELAY_ALPN, RelayWireError } from "./relay_wire.ts";
export {
  acceptSealed,
  openSealed,
  SealError,
  type SealRole,
  type StreamKeys,
  streamKeys,
} from "./sealed.ts";
export { ReplayWindow } from "./replay_window.ts";
