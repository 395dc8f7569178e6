/**
 * CreatePermission and ChannelBind (RFC 8656 §9.2, §11.2) as pure functions
 * of a request and an allocation: they change the allocation and return the
 * error to answer with, or undefined for success. Malformed attributes throw
 * StunDecodeError, which the handler answers with 400.
 */
import {
  AttrType,
  ChannelNumber,
  type DecodedStunMessage,
  ErrorCodes,
  type ErrorCodeValue,
  getAttribute,
  isComprehensionRequired,
  type StunMessage,
  type TransportAddress,
  TurnAttrType,
  XorPeerAddress,
} from "../stun/mod.ts";
import type { Allocation } from "./allocation.ts";
import { MIN_CHANNEL, TurnErrorCodes } from "./constants.ts";

/**
 * Comprehension-required attributes this server acts on or may ignore.
 * Anything else below 0x8000 in a request gets 420 (RFC 8489 §6.3.1).
 * DONT-FRAGMENT is deliberately absent: node:dgram cannot set the DF bit, and
 * RFC 8656 §7.2 step 4 says to treat it as unknown then (so an Allocate with
 * it gets 420 and a Send indication with it is dropped, §11.2).
 */
const UNDERSTOOD: ReadonlySet<number> = new Set([
  AttrType.USERNAME,
  AttrType.MESSAGE_INTEGRITY,
  AttrType.REALM,
  AttrType.NONCE,
  AttrType.MESSAGE_INTEGRITY_SHA256,
  AttrType.PASSWORD_ALGORITHM,
  AttrType.USERHASH,
  AttrType.XOR_MAPPED_ADDRESS,
  TurnAttrType.CHANNEL_NUMBER,
  TurnAttrType.LIFETIME,
  TurnAttrType.XOR_PEER_ADDRESS,
  TurnAttrType.DATA,
  TurnAttrType.REQUESTED_ADDRESS_FAMILY,
  TurnAttrType.EVEN_PORT,
  TurnAttrType.REQUESTED_TRANSPORT,
  TurnAttrType.RESERVATION_TOKEN,
]);

/** Comprehension-required attribute types in `msg` this server does not understand, once each. */
export function unknownRequired(msg: StunMessage): number[] {
  const types = msg.attributes.map((a) => a.type);
  return [...new Set(types.filter((t) => isComprehensionRequired(t) && !UNDERSTOOD.has(t)))];
}

/** Whether policy lets a peer be reached; see TurnHandlerOptions.allowPeer. */
export type PeerPolicy = (peer: TransportAddress) => boolean;

/** 443 for a peer of the wrong family (RFC 8656 §9.2), 403 for one policy refuses. */
function refusePeer(
  peer: TransportAddress,
  allocation: Allocation,
  allowPeer: PeerPolicy,
): ErrorCodeValue | undefined {
  if (peer.family !== allocation.family) return TurnErrorCodes.PeerAddressFamilyMismatch;
  if (!allowPeer(peer)) return TurnErrorCodes.Forbidden;
  return undefined;
}

/** RFC 8656 §9.2: every listed XOR-PEER-ADDRESS gets a permission, or none does. */
export function createPermission(
  msg: DecodedStunMessage,
  allocation: Allocation,
  now: number,
  allowPeer: PeerPolicy,
): ErrorCodeValue | undefined {
  const peers = msg.attributes
    .filter((a) => a.type === XorPeerAddress.type)
    .map((a) => XorPeerAddress.decode(a.value, msg));
  if (peers.length === 0) return ErrorCodes.BadRequest;
  for (const peer of peers) {
    const refused = refusePeer(peer, allocation, allowPeer);
    if (refused) return refused;
  }
  if (!allocation.permit(peers.map((p) => p.address), now)) {
    return TurnErrorCodes.InsufficientCapacity;
  }
  return undefined;
}

/**
 * RFC 8656 §11.2: bind (or refresh) a channel to a peer; it also installs or
 * refreshes the peer's permission. `maxChannel` is 0x4FFF, or 0x7FFF when
 * RFC 5766's range is accepted.
 */
export function channelBind(
  msg: DecodedStunMessage,
  allocation: Allocation,
  now: number,
  allowPeer: PeerPolicy,
  maxChannel: number,
): ErrorCodeValue | undefined {
  const channel = getAttribute(msg, ChannelNumber);
  const peer = getAttribute(msg, XorPeerAddress);
  if (channel === undefined || peer === undefined) return ErrorCodes.BadRequest;
  if (channel < MIN_CHANNEL || channel > maxChannel) return ErrorCodes.BadRequest;
  const refused = refusePeer(peer, allocation, allowPeer);
  if (refused) return refused;
  if (allocation.bindConflict(channel, peer, now)) return ErrorCodes.BadRequest;
  if (!allocation.permit([peer.address], now)) return TurnErrorCodes.InsufficientCapacity;
  allocation.bindChannel(channel, peer, now);
  return undefined;
}
