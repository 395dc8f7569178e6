/**
 * DTLS certificate fingerprints from SDP, normalised so both peers feed the same
 * bytes into the PAKE confirmation tags (see session.ts).
 *
 *     a=fingerprint:sha-256 B7:1A:FF:37:...:E9:0A      RFC 8122 §5
 *                   ^^^^^^^ hash-func, any case
 *                           ^^^^^^^^^^^^^^^^^^^^^^^ 2HEX *(":" 2HEX), any case
 *     normalised:   SHA-256 B7:1A:FF:37:...:E9:0A
 *
 * The attribute may sit at session level (Firefox) or in each m= section
 * (libwebrtc, @roamhq/wrtc); one value repeated under BUNDLE is one fingerprint.
 */

/** SDP longer than this is refused before it is split; real offers are a few KiB. */
export const MAX_SDP_LENGTH = 64 * 1024;

/**
 * Digest sizes of the accepted hash functions. SHA-256 is the one every WebRTC
 * stack must offer (RFC 8827 §6.5); MD5 and SHA-1 are refused.
 */
const DIGEST_BYTES: Readonly<Record<string, number>> = {
  "SHA-256": 32,
  "SHA-384": 48,
  "SHA-512": 64,
};

const ATTRIBUTE = "a=fingerprint:";

/**
 * Normalise one fingerprint attribute value ("sha-256 AB:CD:..."): upper case,
 * one space, digest length checked against the algorithm. Null when malformed.
 */
export function parseFingerprint(value: string): string | null {
  if (typeof value !== "string" || value.length > 512) return null;
  const m = /^[ \t]*([A-Za-z0-9-]+)[ \t]+([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*)[ \t]*$/.exec(value);
  if (m === null) return null;
  const algorithm = m[1].toUpperCase();
  const hex = m[2].toUpperCase();
  const bytes = DIGEST_BYTES[algorithm];
  if (bytes === undefined || hex.length !== bytes * 3 - 1) return null;
  return `${algorithm} ${hex}`;
}

/**
 * Untrusted text enters here. The certificate fingerprint an SDP offer or
 * answer commits to, normalised, or null when there is none, when any
 * fingerprint line is malformed or uses another hash, or when the lines name
 * more than one distinct fingerprint: a DTLS stack may accept a certificate
 * matching any of them, so binding only one would leave the others unchecked.
 */
export function sdpFingerprint(sdp: string): string | null {
  if (typeof sdp !== "string" || sdp.length > MAX_SDP_LENGTH) return null;
  let found: string | null = null;
  // Lenient about what counts as a fingerprint line (any line break, leading
  // blanks, any case), strict about its value: an extra line can only make the
  // result null, never let a second fingerprint go unbound.
  for (const raw of sdp.split(/\r\n|\r|\n/)) {
    const line = raw.trimStart();
    if (line.slice(0, ATTRIBUTE.length).toLowerCase() !== ATTRIBUTE) continue;
    const fp = parseFingerprint(line.slice(ATTRIBUTE.length));
    if (fp === null || (found !== null && fp !== found)) return null;
    found = fp;
  }
  return found;
}
