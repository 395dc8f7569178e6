/**
 * Header policy for one proxied app: the page is served from a public origin
 * (the relay), the app listens on localhost on the remote machine, and each
 * side should see its own origin.
 *
 * Requests are made to look as if the browser were on `http://localhost:<port>`
 * (Host, and Origin/Referer that name the public origin), so the app's CSRF
 * and same-origin checks pass. Responses have absolute redirects to that
 * localhost origin made path-absolute, so the browser stays on the public
 * origin; their cookies go into the page's {@link CookieJar}, which then
 * supplies every request's Cookie header.
 */
import { CookieJar } from "./cookies.ts";

export interface RewriteOptions {
  /** The origin the browser sees, e.g. "https://relay.example:7443". */
  publicOrigin: string;
  /** The app's port on the remote machine, 1..65535. */
  targetPort: number;
  /** Where Set-Cookie goes and Cookie comes from. Default: a new, empty jar. */
  jar?: CookieJar;
}

/** What the app would send itself; the page decodes these (see readResponse's `decode`). */
const ACCEPT_ENCODING = "gzip, deflate";

export class HeaderRewriter {
  /** The session's cookies for the app. */
  readonly jar: CookieJar;
  readonly #publicOrigin: string;
  readonly #port: number;
  readonly #appOrigin: string;

  constructor(opts: RewriteOptions) {
    const url = new URL(opts.publicOrigin); // throws TypeError on a malformed origin
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(`publicOrigin must be http(s), got ${opts.publicOrigin}`);
    }
    if (!Number.isInteger(opts.targetPort) || opts.targetPort < 1 || opts.targetPort > 65535) {
      throw new RangeError(`targetPort must be 1..65535, got ${opts.targetPort}`);
    }
    this.#publicOrigin = url.origin;
    this.#port = opts.targetPort;
    this.#appOrigin = `http://localhost:${opts.targetPort}`;
    this.jar = opts.jar ?? new CookieJar();
  }

  /**
   * Headers for a request to `target` (path and query): Host, Accept-Encoding
   * and Cookie are set (the jar is the only source of cookies), Origin and
   * Referer naming the public origin are moved to the app's origin.
   */
  request(
    headers: [string, string][],
    target: string,
    now: number = Date.now(),
  ): [string, string][] {
    const out: [string, string][] = [["Host", `localhost:${this.#port}`]];
    for (const [name, value] of headers) {
      const lower = name.toLowerCase();
      if (lower === "host" || lower === "accept-encoding" || lower === "cookie") continue;
      if (lower === "origin") {
        out.push([name, value === this.#publicOrigin ? this.#appOrigin : value]);
      } else if (lower === "referer") out.push([name, this.#referer(value)]);
      else out.push([name, value]);
    }
    out.push(["Accept-Encoding", ACCEPT_ENCODING]);
    const cookie = this.jar.header(target, now);
    if (cookie !== null) out.push(["Cookie", cookie]);
    return out;
  }

  /**
   * Headers of the response to a request for `target`: Set-Cookie is taken
   * into the jar and dropped, a Location on the app's own origin becomes
   * path-absolute.
   */
  response(
    headers: [string, string][],
    target: string,
    now: number = Date.now(),
  ): [string, string][] {
    const cookies: string[] = [];
    const out: [string, string][] = [];
    for (const [name, value] of headers) {
      const lower = name.toLowerCase();
      if (lower === "set-cookie") cookies.push(value);
      else if (lower === "location") out.push([name, this.#location(value)]);
      else out.push([name, value]);
    }
    if (cookies.length > 0) this.jar.store(cookies, target, now);
    return out;
  }

  #referer(value: string): string {
    const url = parseUrl(value);
    if (url === null || url.origin !== this.#publicOrigin) return value;
    return this.#appOrigin + url.pathname + url.search;
  }

  /** http(s)://localhost:<port>/x or http(s)://127.0.0.1:<port>/x (or scheme-relative) -> /x. */
  #location(value: string): string {
    const url = parseUrl(value, "http://base.invalid"); // a base only to parse "//host/x"
    if (url === null || url.hostname === "base.invalid") return value;
    if (url.protocol !== "http:" && url.protocol !== "https:") return value;
    if (url.hostname !== "localhost" && url.hostname !== "127.0.0.1") return value;
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    if (port !== this.#port) return value;
    return url.pathname + url.search + url.hash;
  }
}

/** URL.parse, for browsers older than it (Chromium < 126). */
function parseUrl(text: string, base?: string): URL | null {
  try {
    return new URL(text, base);
  } catch {
    return null;
  }
}
