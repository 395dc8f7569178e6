/**
 * The few pieces of HTTP grammar (RFC 9110 §5.6) the request encoder and the
 * response parser share. Field values are byte strings, as in fetch's Headers:
 * each character is one byte (Latin-1), never UTF-8.
 */

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** token = 1*tchar (RFC 9110 §5.6.2): methods and field names. */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * Fields that describe one connection rather than the message (RFC 9110
 * §7.6.1): a proxy neither forwards nor returns them. Fields named in a
 * Connection field are hop-by-hop too, see {@link connectionOptions}.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** The lower-cased field names a message's Connection fields list. */
export function connectionOptions(headers: readonly [string, string][]): Set<string> {
  return new Set(listValues(headers, "connection"));
}

/** All values of a comma-separated list field, lower-cased and trimmed, empties dropped (RFC 9110 §5.6.1). */
export function listValues(headers: readonly [string, string][], name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (n.toLowerCase() !== name) continue;
    for (const item of v.split(",")) {
      const t = item.trim().toLowerCase();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

/** Latin-1 bytes of a byte string; the caller has checked every code unit is <= 0xff. */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A byte string from bytes. (TextDecoder's "latin1" is really windows-1252, so not that.) */
export function latin1Text(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}
