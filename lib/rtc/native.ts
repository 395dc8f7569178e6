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

/** The part of a wrtc RTCDataChannel below its JavaScript EventTarget. */
interface WrtcChannel {
  /** The native send (the public `send` only unwraps jsdom Blobs first). */
  _send(data: Uint8Array): void;
  /** Called by wrtc's native side, by name, once for each event of the channel. */
  dispatchEvent(event: { type: string; data?: unknown }): void;
}

/**
 * Take `dc`'s messages straight from wrtc's native side: its native code
 * calls the channel's own `dispatchEvent` for every event, and wrtc's
 * EventTarget defers each to process.nextTick and copies the listener set
 * first, a hop and garbage per message that a tunnel pays twice per round
 * trip. Other events (open, close, error) still go the usual way, in order
 * after the messages before them. Returns the native send.
 */
export function directChannel(
  dc: unknown,
  onmessage: (data: ArrayBuffer | string) => void,
): ((data: Uint8Array) => void) | null {
  const channel = dc as WrtcChannel;
  if (typeof channel._send !== "function" || typeof channel.dispatchEvent !== "function") {
    return null;
  }
  const dispatch = channel.dispatchEvent;
  channel.dispatchEvent = function (event) {
    if (event.type !== "message") return dispatch.call(this, event);
    try {
      onmessage(event.data as ArrayBuffer | string);
    } catch (err) {
      // Thrown into wrtc's native caller, an error aborts the process
      // (SIGABRT) without a word: raise it on a task of its own instead, as
      // an ordinary uncaught error with its stack.
      setTimeout(() => {
        throw err;
      });
    }
  };
  return (data) => channel._send(data);
}
