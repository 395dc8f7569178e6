/**
 * TURN wire constants (RFC 8656). Attribute codecs live in lib/stun; this file
 * holds methods, error codes, timer values and the channel number ranges.
 */
import type { ErrorCodeValue } from "../stun/mod.ts";

/** TURN methods (RFC 8656 §17). Binding (0x001) is STUN's. */
export const TurnMethod = {
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

/** Error codes TURN adds (RFC 8656 §19), with the reasons it suggests. */
export const TurnErrorCodes = {
  Forbidden: { code: 403, reason: "Forbidden" },
  AllocationMismatch: { code: 437, reason: "Allocation Mismatch" },
  AddressFamilyNotSupported: { code: 440, reason: "Address Family not Supported" },
  WrongCredentials: { code: 441, reason: "Wrong Credentials" },
  UnsupportedTransportProtocol: { code: 442, reason: "Unsupported Transport Protocol" },
  PeerAddressFamilyMismatch: { code: 443, reason: "Peer Address Family Mismatch" },
  AllocationQuotaReached: { code: 486, reason: "Allocation Quota Reached" },
  InsufficientCapacity: { code: 508, reason: "Insufficient Capacity" },
} as const satisfies Record<string, ErrorCodeValue>;

/** Allocation lifetime when the client asks for none or for less (RFC 8656 §3.2, §7.2). */
export const DEFAULT_ALLOCATION_LIFETIME_S = 600;
/** The longest allocation lifetime granted; longer requests are cut to this (RFC 8656 §7.2). */
export const MAX_ALLOCATION_LIFETIME_S = 3600;
/** Permission lifetime, not negotiable (RFC 8656 §9). */
export const PERMISSION_LIFETIME_S = 300;
/** Channel binding lifetime, not negotiable (RFC 8656 §12). */
export const CHANNEL_LIFETIME_S = 600;
/**
 * After a channel binding expires, neither its number nor its peer may be
 * bound to anything else for this long, so late packets are not misrouted
 * (RFC 8656 §12).
 */
export const CHANNEL_COOLDOWN_S = 300;
/** How long a port reserved by EVEN-PORT's R bit is held (RFC 8656 §7.2: "about 30 s"). */
export const RESERVATION_LIFETIME_S = 30;

/**
 * Channel numbers (RFC 8656 §12):
 *
 *     0x0000-0x3FFF  never channel numbers (the first two bits 00 mark STUN)
 *     0x4000-0x4FFF  the allowed channel numbers
 *     0x5000-0xFFFF  reserved, to keep out of DTLS-SRTP's way (RFC 7983)
 *
 * RFC 5766 allowed 0x4000-0x7FFF. Clients written to it still pick numbers
 * there: coturn's turnutils_uclient before 4.16 (Debian ships 4.6.1) draws
 * them at random from the whole old range. {@link LEGACY_MAX_CHANNEL} is the
 * upper bound a server accepts when it opts into that range.
 */
export const MIN_CHANNEL = 0x4000;
export const MAX_CHANNEL = 0x4fff;
export const LEGACY_MAX_CHANNEL = 0x7fff;

/** The default TURN port over UDP and TCP (RFC 8656 §18.1 of STUN's registry). */
export const DEFAULT_TURN_PORT = 3478;
