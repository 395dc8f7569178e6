/**
 * The head of an HTTP/1.1 request (RFC 9112 §3, §5):
 *
 *     method SP request-target SP "HTTP/1.1" CRLF
 *     *( field-name ":" SP field-value CRLF )
 *     CRLF
 *
 * One request per stream, so the head always says `Connection: close`, and
 * the framing fields are ours to write: the caller's Content-Length and
 * hop-by-hop fields are dropped, never trusted. Everything the caller gives
 * is checked, because one stray CR or LF in a value would let the rest of it
 * pose as another header or another request.
 */
import { HttpEncodeError } from "./errors.ts";
import { connectionOptions, HOP_BY_HOP, isToken, latin1Bytes } from "./syntax.ts";

/** What goes into a request head. */
export interface RequestHead {
  /** A token, case-sensitive (RFC 9110 §9.1): "GET", "POST", ... */
  method: string;
  /** origin-form (RFC 9112 §3.2.1): path and query, starting with "/". */
  target: string;
  /** Name/value pairs in order; must include exactly one Host. */
  headers: [string, string][];
  /** The body's length in bytes, or null for no body. */
  bodyLength: number | null;
}

/** Methods whose requests carry content, so an empty one still says `Content-Length: 0` (RFC 9110 §8.6). */
const CONTENT_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Bytes the target may not contain: controls, space, DEL and anything outside ASCII. */
// deno-lint-ignore no-control-regex
const BAD_TARGET = /[\x00-\x20\x7f-\uffff]/;
/** CR, LF and NUL end or corrupt a field line (RFC 9110 §5.5). */
const BAD_VALUE = /[\r\n\0]/;
/** Field values are byte strings. */
const NOT_LATIN1 = /[\u0100-\uffff]/;

/** The request line and header section, ending with the empty line. Throws {@link HttpEncodeError}. */
export function encodeRequestHead(req: RequestHead): Uint8Array {
  if (!isToken(req.method)) throw new HttpEncodeError("method", "is not a token");
  if (!req.target.startsWith("/")) {
    throw new HttpEncodeError("target", 'must be a path starting with "/"');
  }
  if (BAD_TARGET.test(req.target)) {
    throw new HttpEncodeError("target", "contains a space, control or non-ASCII character");
  }
  const { bodyLength } = req;
  if (bodyLength !== null && !(Number.isSafeInteger(bodyLength) && bodyLength >= 0)) {
    throw new HttpEncodeError("bodyLength", "must be a non-negative integer or null");
  }

  for (const [name, value] of req.headers) {
    if (!isToken(name)) {
      throw new HttpEncodeError(`header ${JSON.stringify(name)}`, "name is not a token");
    }
    if (BAD_VALUE.test(value)) {
      throw new HttpEncodeError(`header ${name}`, "value contains CR, LF or NUL");
    }
    if (NOT_LATIN1.test(value)) {
      throw new HttpEncodeError(`header ${name}`, "value has characters beyond U+00FF");
    }
  }
  // A request needs exactly one Host (RFC 9112 §3.2); servers answer 400 otherwise.
  const hosts = req.headers.filter(([name]) => name.toLowerCase() === "host").length;
  if (hosts !== 1) throw new HttpEncodeError("Host", `need exactly one, got ${hosts}`);

  const dropped = connectionOptions(req.headers);
  let head = `${req.method} ${req.target} HTTP/1.1\r\n`;
  for (const [name, value] of req.headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || dropped.has(lower) || lower === "content-length") continue;
    // Leading and trailing whitespace is not part of a value (RFC 9110 §5.5).
    head += `${name}: ${value.replace(/^[ \t]+|[ \t]+$/g, "")}\r\n`;
  }
  head += "Connection: close\r\n";
  if (bodyLength !== null) head += `Content-Length: ${bodyLength}\r\n`;
  else if (CONTENT_METHODS.has(req.method)) head += "Content-Length: 0\r\n";
  return latin1Bytes(head + "\r\n");
}
