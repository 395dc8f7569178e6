export { type PathInfo, type PeerOptions, RtcPeer, webrtcUnavailable } from "./peer.ts";
export { DataChannelAdapter } from "./channel.ts";
export { candidateAddress, isLoopbackCandidate, offerLoopbackCandidates } from "./candidate.ts";
