/**
 * lib/rtc's native side: libwebrtc through @roamhq/wrtc, plus what libwebrtc
 * leaves undone for a fast DataChannel. peer.ts imports this lazily, so a
 * native module that does not load leaves the program running (the QUIC data
 * plane takes over). The browser bundle swaps this module for
 * lib/web/guest/wrtc_shim.ts, the browser's own WebRTC (lib/web/bundle.ts).
 */
import wrtc from "@roamhq/wrtc";
import { raiseUdpReceiveBuffers } from "../runtime/mod.ts";

export const RTCPeerConnection: unknown =
  (wrtc as unknown as { RTCPeerConnection?: unknown }).RTCPeerConnection;

/**
 * A peer connection of this process is up, so its UDP sockets exist: give
 * them `receiveBuffer` bytes of kernel receive buffer (libwebrtc leaves the
 * 208 KiB default; lib/runtime/udp_buffers.ts says why that is too little).
 * Never rejects.
 */
export async function connectionOpened(receiveBuffer: number): Promise<void> {
  if (receiveBuffer > 0) await raiseUdpReceiveBuffers(receiveBuffer);
}
