/**
 * Stands in for lib/rtc/native.ts in the browser bundle (lib/web/bundle.ts
 * swaps it in), so lib/rtc's RtcPeer drives the browser's own
 * RTCPeerConnection, whose sockets are the browser's business.
 */
export const RTCPeerConnection: unknown = globalThis.RTCPeerConnection;

export function connectionOpened(_receiveBuffer: number): Promise<void> {
  return Promise.resolve();
}

/** The browser's channels deliver their own events: nothing to bypass. */
export function directChannel(
  _dc: unknown,
  _onmessage: (data: ArrayBuffer | string) => void,
): ((data: Uint8Array) => void) | null {
  return null;
}
