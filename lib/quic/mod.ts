/**
 * QUIC for tun: a WebTransport server that browsers connect to by pinning a
 * certificate hash, renewed (new cert, new port) before the browsers' 14-day
 * limit. Needs Deno with `--unstable-net` (check `hasQuic()` from
 * lib/runtime); Bun has no QUIC server.
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
