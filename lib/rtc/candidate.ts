/**
 * What tun reads from an ICE candidate line (RFC 8839 §5.1):
 * `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...`.
 * UNTRUSTED INPUT when the line comes from the other peer.
 */

/** The candidate's connection address, or null if the line is not a candidate. */
export function candidateAddress(line: string): string | null {
  const fields = line.replace(/^a=/, "").split(" ");
  if (fields.length < 8 || !fields[0].startsWith("candidate:") || fields[6] !== "typ") return null;
  return fields[4];
}

/**
 * True for a candidate on a loopback address (127.0.0.0/8, ::1). libwebrtc
 * offers them where a machine's loopback counts as a network (seen in network
 * namespaces). They reach only the machine itself, yet each one adds pairs that
 * are checked before the server-reflexive pair that crosses two NATs, a few
 * tens of ms apiece: in the NAT lab, leaving them out took the DataChannel's
 * time to ready from ~320-380 ms to ~230-300 ms.
 */
export function isLoopbackCandidate(line: string): boolean {
  const address = candidateAddress(line);
  return address !== null && isLoopbackAddress(address);
}

/**
 * Whether loopback candidates are worth offering to a peer met through the
 * relay at `relayUrl`: only when that relay is on this machine's loopback, so
 * the other peer may be here too with no other network in common.
 */
export function offerLoopbackCandidates(relayUrl: string): boolean {
  let host: string;
  try {
    host = new URL(relayUrl).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return true;
  }
  return host === "localhost" || isLoopbackAddress(host);
}

/** 127.0.0.0/8 or ::1, as an IP literal. */
function isLoopbackAddress(ip: string): boolean {
  return ip === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}
