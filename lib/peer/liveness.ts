/**
 * Is the other peer still there? Asked when the relay's connection ends while
 * the peers are connected: the relay also goes when the other peer's machine
 * does (its process killed, its network gone), and libwebrtc would take ~16 s
 * to declare the connection failed (QUIC its 15 s idle timeout), while every
 * new TCP connection through the tunnel hangs. One ping over the tunnel
 * tells a live peer from a dead one in at most PEER_CHECK_MS; a relay cannot
 * use this to end a live connection, only to make the peers ping.
 */
import { withTimeout } from "../quic/stream_reader.ts";
import type { Mux } from "../tunnel/mux.ts";

/** How long a live peer has to answer: ~100 round trips on a slow path. */
export const PEER_CHECK_MS = 3_000;

/** What a check needs of a link. */
export interface PeerCheck {
  /** One round trip to the peer, ms (Infinity or a rejection: no answer). */
  ping(): Promise<number>;
  /**
   * A count that grows with anything received from the peer. On a busy
   * DataChannel the ping waits behind up to megabytes of queued data (one
   * ordered channel; seconds on a slow link) while the peer's data and
   * credits keep arriving: those count as an answer.
   */
  heard?(): number;
}

/** The check over a DataChannel's mux: its PING, and every message it receives. */
export function muxCheck(mux: Mux): PeerCheck {
  return { ping: () => mux.ping(), heard: () => mux.messagesReceived };
}

/** True if the peer answers the ping, or is heard from, within `ms`. */
export async function peerAnswers(peer: PeerCheck, ms = PEER_CHECK_MS): Promise<boolean> {
  const before = peer.heard?.();
  try {
    if (Number.isFinite(await withTimeout(peer.ping(), ms, "ping"))) return true;
  } catch { /* no answer in time */ }
  return before !== undefined && peer.heard!() !== before;
}
