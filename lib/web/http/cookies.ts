/**
 * An in-memory cookie jar for one app, one session (RFC 6265, the parts one
 * host needs).
 *
 * A browser ignores Set-Cookie on a Response a Service Worker builds and does
 * not put its cookies on the requests the worker sees, so the page keeps the
 * app's cookies itself. There is only ever one host, so Domain is ignored;
 * Secure, HttpOnly and SameSite are ignored too (the jar never leaves the
 * page, and the app is reached over its plain-HTTP localhost origin).
 */

export interface CookieJarOptions {
  /** Most cookies kept; past it, the least recently used go first. Default 50. */
  maxCookies?: number;
  /** Largest name plus value, in characters; larger cookies are ignored. Default 4096. */
  maxCookieBytes?: number;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
  /** Milliseconds since the epoch; Infinity for a session cookie. */
  expires: number;
  /** Order of creation, kept when a cookie is replaced (RFC 6265 §5.3 step 11.3). */
  created: number;
  /** Order of last store or send, for eviction. */
  used: number;
}

/** Name and value may not hold control characters (RFC 6265bis §5.6 step 2). */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Attribute values longer than this are ignored (RFC 6265bis §5.6 step 9). */
const MAX_ATTRIBUTE = 1024;

export class CookieJar {
  readonly #max: number;
  readonly #maxBytes: number;
  #cookies: Cookie[] = [];
  #clock = 0;

  constructor(opts: CookieJarOptions = {}) {
    this.#max = opts.maxCookies ?? 50;
    this.#maxBytes = opts.maxCookieBytes ?? 4096;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) {
      throw new RangeError("maxCookies must be a positive integer");
    }
    if (!Number.isSafeInteger(this.#maxBytes) || this.#maxBytes < 1) {
      throw new RangeError("maxCookieBytes must be a positive integer");
    }
  }

  /** How many cookies are held (expired ones included until the next store or header). */
  get size(): number {
    return this.#cookies.length;
  }

  /**
   * Take a response's Set-Cookie values. `requestPath` is the request's
   * target (a query is ignored); `now` is milliseconds since the epoch.
   */
  store(setCookieValues: string[], requestPath: string, now: number = Date.now()): void {
    for (const line of setCookieValues) {
      const cookie = this.#parse(line, pathOf(requestPath), now);
      if (cookie === null) continue;
      const i = this.#cookies.findIndex((c) => c.name === cookie.name && c.path === cookie.path);
      if (i >= 0) {
        cookie.created = this.#cookies[i].created;
        this.#cookies.splice(i, 1);
      }
      // An expiry in the past is how a server deletes a cookie (§5.3 step 11).
      if (cookie.expires > now) this.#cookies.push(cookie);
    }
    this.#purge(now);
    while (this.#cookies.length > this.#max) {
      let lru = 0;
      for (let i = 1; i < this.#cookies.length; i++) {
        if (this.#cookies[i].used < this.#cookies[lru].used) lru = i;
      }
      this.#cookies.splice(lru, 1);
    }
  }

  /** The Cookie header for a request to `path`, or null when no cookie applies (§5.4). */
  header(path: string, now: number = Date.now()): string | null {
    this.#purge(now);
    const requestPath = pathOf(path);
    const matching = this.#cookies.filter((c) => pathMatches(requestPath, c.path));
    if (matching.length === 0) return null;
    // Longer paths first, then older cookies first (§5.4 step 2).
    matching.sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    const tick = ++this.#clock; // one request uses them all at once
    for (const c of matching) c.used = tick;
    return matching.map((c) => `${c.name}=${c.value}`).join("; ");
  }

  /** One Set-Cookie value (§5.2), or null when it is to be ignored. */
  #parse(line: string, requestPath: string, now: number): Cookie | null {
    const semi = line.indexOf(";");
    const pair = semi >= 0 ? line.slice(0, semi) : line;
    const eq = pair.indexOf("=");
    if (eq < 0) return null;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name === "" || CONTROL.test(name) || CONTROL.test(value)) return null;
    if (name.length + value.length > this.#maxBytes) return null;

    let maxAge: number | null = null;
    let expires: number | null = null;
    let path: string | null = null;
    for (const attr of semi >= 0 ? line.slice(semi + 1).split(";") : []) {
      const aeq = attr.indexOf("=");
      const key = (aeq >= 0 ? attr.slice(0, aeq) : attr).trim().toLowerCase();
      const val = aeq >= 0 ? attr.slice(aeq + 1).trim() : "";
      if (val.length > MAX_ATTRIBUTE) continue;
      if (key === "max-age" && /^-?[0-9]+$/.test(val)) {
        // §5.2.2: zero or negative means "expire now".
        const seconds = Number(val);
        maxAge = seconds <= 0 ? -Infinity : now + seconds * 1000;
      } else if (key === "expires") {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) expires = t;
      } else if (key === "path") {
        // §5.2.4: a value not starting with "/" means the default path.
        path = val.startsWith("/") ? val : null;
      }
    }
    const used = ++this.#clock;
    return {
      name,
      value,
      path: path ?? defaultPath(requestPath),
      // Max-Age wins over Expires, whichever comes first (§5.3 step 3).
      expires: maxAge ?? expires ?? Infinity,
      created: used,
      used,
    };
  }

  #purge(now: number): void {
    this.#cookies = this.#cookies.filter((c) => c.expires > now);
  }
}

/** The path of a request target: no query, no fragment. */
function pathOf(target: string): string {
  return target.replace(/[?#].*$/s, "");
}

/** The default-path of a request path (RFC 6265 §5.1.4): its directory, without the last "/". */
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith("/")) return "/";
  const last = requestPath.lastIndexOf("/");
  return last === 0 ? "/" : requestPath.slice(0, last);
}

/** path-match (RFC 6265 §5.1.4). */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}
