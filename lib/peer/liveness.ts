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

/** How long a live peer has to answer: ~100 round trips on a slow path. */
export const PEER_CHECK_MS = 3_000;

/** True if `ping` answers within `ms`. */
export async function peerAnswers(
  ping: () => Promise<number>,
  ms = PEER_CHECK_MS,
): Promise<boolean> {
  try {
    // A QUIC control stream that ended answers Infinity.
    return Number.isFinite(await withTimeout(ping(), ms, "ping"));
  } catch {
    return false;
  }
}
