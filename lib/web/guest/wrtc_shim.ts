/**
 * Stands in for @roamhq/wrtc in the browser bundle (lib/web/bundle.ts aliases
 * it), so lib/rtc's RtcPeer drives the browser's own RTCPeerConnection.
 */
export default { RTCPeerConnection: globalThis.RTCPeerConnection };
