/**
 * Errors raised by the HTTP/1.1 client.
 *
 * Response bytes come from a server we do not control, so every way a
 * response can be malformed ends in one error type, {@link HttpParseError},
 * naming the part at fault. Anything else escaping the parser is a bug (or the
 * transport's own error, or an abort reason, passed through untouched).
 */

/** A response could not be parsed: malformed, too large, truncated or unsupported. */
export class HttpParseError extends Error {
  /** The part at fault, e.g. `"status line"`, `"Content-Length"`, `"chunk size"`, `"body"`. */
  readonly field: string;

  constructor(field: string, detail: string) {
    super(`HTTP response ${field}: ${detail}`);
    this.name = "HttpParseError";
    this.field = field;
  }
}

/** A request could not be encoded: a method, target or header that would corrupt the head. */
export class HttpEncodeError extends Error {
  /** The part at fault, e.g. `"method"`, `"target"`, `"header X-Foo"`, `"Host"`. */
  readonly field: string;

  constructor(field: string, detail: string) {
    super(`HTTP request ${field}: ${detail}`);
    this.name = "HttpEncodeError";
    this.field = field;
  }
}

/** A short, printable excerpt of untrusted text for an error message. */
export function excerpt(text: string, max = 40): string {
  const cut = text.length > max ? text.slice(0, max) + "…" : text;
  return JSON.stringify(cut);
}
