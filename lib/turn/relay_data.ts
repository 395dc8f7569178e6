/**
 * The data path (RFC 8656 §11, §12) as pure functions over an allocation:
 * where a client's Send indication or ChannelData goes, and what a peer's
 * datagram becomes on its way to the client. The handler does the sending.
 */
import {
  createMessage,
  Data,
  type DecodedStunMessage,
  encodeMessage,
  getAttribute,
  setAttribute,
  StunClass,
  StunDecodeError,
  type TransportAddress,
  XorPeerAddress,
} from "../stun/mod.ts";
import type { Allocation } from "./allocation.ts";
import { decodeChannelData, encodeChannelData } from "./channel_data.ts";
import { TurnMethod } from "./constants.ts";
import { TurnDecodeError } from "./errors.ts";
import { unknownRequired } from "./requests.ts";

/** A datagram to send from the relayed address. */
export interface Outbound {
  peer: TransportAddress;
  data: Uint8Array;
}

/**
 * RFC 8656 §11.2: the datagram a Send indication asks for, or undefined when
 * it must be dropped silently: no XOR-PEER-ADDRESS or DATA, either malformed,
 * an unknown comprehension-required attribute (DONT-FRAGMENT among them), a
 * peer of the other family, or no permission. A Send indication never
 * refreshes the permission it relies on.
 *
 * UNTRUSTED INPUT: `msg` is a decoded indication from the client.
 */
export function sendIndicationTarget(
  msg: DecodedStunMessage,
  allocation: Allocation,
  now: number,
): Outbound | undefined {
  if (unknownRequired(msg).length > 0) return undefined;
  let peer, data;
  try {
    peer = getAttribute(msg, XorPeerAddress);
    data = getAttribute(msg, Data);
  } catch (err) {
    if (err instanceof StunDecodeError) return undefined;
    throw err;
  }
  if (!peer || !data) return undefined;
  if (peer.family !== allocation.family || !allocation.permits(peer.address, now)) {
    return undefined;
  }
  return { peer, data };
}

/**
 * RFC 8656 §12.5: the datagram a ChannelData message carries, or undefined
 * when it is malformed, its channel is not bound, or the permission lapsed.
 *
 * UNTRUSTED INPUT: `bytes` is a datagram or stream frame from the client.
 */
export function channelDataTarget(
  bytes: Uint8Array,
  allocation: Allocation,
  now: number,
): Outbound | undefined {
  let message;
  try {
    message = decodeChannelData(bytes);
  } catch (err) {
    if (err instanceof TurnDecodeError) return undefined;
    throw err;
  }
  const peer = allocation.peerOfChannel(message.channel, now);
  if (!peer || !allocation.permits(peer.address, now)) return undefined;
  return { peer, data: message.data };
}

/**
 * Largest peer datagram that fits a Data indication: XOR-PEER-ADDRESS (up to
 * 24 bytes), DATA's 4-byte header and the padded data must fit the 16-bit,
 * multiple-of-4 Message Length. UDP payloads are smaller anyway.
 */
const MAX_DATA_INDICATION_PAYLOAD = 0xfffc - 28;

/**
 * RFC 8656 §11.3, §12.6: what to send the client for a datagram that reached
 * the relayed address, or undefined to drop it. Only a peer with a
 * permission gets through: over its channel if one is bound (padded on
 * streams, so the next frame starts on a 4-byte boundary, §12.5), else in a
 * Data indication.
 *
 * UNTRUSTED INPUT: `data` and `peer` come from anyone who can reach the port.
 */
export function toClient(
  allocation: Allocation,
  transport: "udp" | "tcp",
  data: Uint8Array,
  peer: TransportAddress,
  now: number,
): Uint8Array | undefined {
  if (allocation.expired(now) || !allocation.permits(peer.address, now)) return undefined;
  const channel = allocation.channelOfPeer(peer, now);
  if (channel !== undefined) return encodeChannelData(channel, data, transport === "tcp");
  if (data.length > MAX_DATA_INDICATION_PAYLOAD) return undefined;
  const indication = createMessage(TurnMethod.Data, StunClass.Indication);
  setAttribute(indication, XorPeerAddress, peer);
  setAttribute(indication, Data, data);
  return encodeMessage(indication);
}
