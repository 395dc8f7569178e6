export { type PathInfo, type PeerOptions, RtcPeer } from "./peer.ts";
export { DataChannelAdapter } from "./channel.ts";
