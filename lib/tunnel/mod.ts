/**
 * The tunnel data plane: many TCP connections multiplexed over one reliable,
 * ordered, message-based channel, with per-stream flow control, channel-level
 * backpressure and half-close.
 *
 * - {@link Mux} runs over any {@link MessageChannel} (a DataChannel adapter,
 *   later QUIC or WebSocket).
 * - {@link serveGuestPort} (guest) and {@link serveHostStreams} (host) connect
 *   it to TCP; {@link bridgeTcp} joins one stream to one socket.
 * - frame.ts is the wire format.
 */
export {
  type MessageChannel,
  Mux,
  type MuxOptions,
  StreamResetError,
  type TunnelStream,
} from "./mux.ts";
export {
  bridgeTcp,
  type GuestPort,
  type GuestPortOptions,
  type HostStreams,
  type HostStreamsOptions,
  isLoopback,
  muxLink,
  serveGuestPort,
  serveHostStreams,
  type TunnelLink,
} from "./tcp.ts";
export {
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameDecodeError,
  MAX_DATA_PAYLOAD,
  MAX_FRAME_SIZE,
  PROTOCOL_VERSION,
} from "./frame.ts";
