/**
 * TURN (RFC 8656): a relay server for peers that cannot reach each other
 * directly, with TURN REST API credentials (an expiring username and an
 * HMAC-SHA1 password under a shared secret), over UDP and TCP.
 *
 * @example Run a server and hand a peer credentials for it
 * ```ts
 * const secret = "shared with whoever mints credentials";
 * await using turn = await startTurnServer({ port: 3478, realm: "tun", secret });
 * const { username, password } = mintTurnCredentials(secret, "guest-1", 3600);
 * const iceServer = {
 *   urls: [`turn:relay.example:${turn.udpPort}?transport=udp`,
 *          `turn:relay.example:${turn.tcpPort}?transport=tcp`],
 *   username,
 *   credential: password,
 * };
 * ```
 */
export {
  CHANNEL_LIFETIME_S,
  DEFAULT_ALLOCATION_LIFETIME_S,
  DEFAULT_TURN_PORT,
  LEGACY_MAX_CHANNEL,
  MAX_ALLOCATION_LIFETIME_S,
  MAX_CHANNEL,
  MIN_CHANNEL,
  PERMISSION_LIFETIME_S,
  TurnErrorCodes,
  TurnMethod,
} from "./constants.ts";
export { TurnDecodeError } from "./errors.ts";
export {
  type ChannelData,
  decodeChannelData,
  encodeChannelData,
  isChannelData,
} from "./channel_data.ts";
export { StreamDeframer, type StreamDeframerOptions, type StreamFrame } from "./stream.ts";
export {
  mintTurnCredentials,
  parseRestUsername,
  restPasswordFor,
  type TurnCredentials,
  turnRestPassword,
} from "./credentials.ts";
export {
  type OpenedRelay,
  type RelayOpener,
  type RelayRequest,
  type TurnClient,
  TurnHandler,
  type TurnHandlerOptions,
} from "./handler.ts";
export type { RelaySocket } from "./allocation.ts";
export { udpRelayOpener, type UdpRelayOptions } from "./relay_socket.ts";
export { startTurnServer, type TurnServer, type TurnServerOptions } from "./server.ts";
export {
  classifyPeer,
  isForbiddenPeer,
  type PeerClass,
  type PeerPolicyOptions,
  sameAddress,
} from "./peer_policy.ts";
