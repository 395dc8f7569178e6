/**
 * An HTTP/1.1 client (RFC 9112) over a raw byte stream, for the browser guest
 * page: its Service Worker's requests to the app go out on tunnel streams
 * that reach the app's TCP socket on the host. Web-standard APIs only, so it
 * bundles into the page as it is and is tested under Deno.
 *
 * - {@link httpRequest}: one exchange on a fresh stream.
 * - {@link encodeRequestHead}, {@link readResponse}: the two halves.
 * - {@link HeaderRewriter}, {@link CookieJar}: the proxy's header policy.
 *
 * @example Proxy a Service Worker request
 * ```ts
 * const rewriter = new HeaderRewriter({ publicOrigin: location.origin, targetPort: 3000 });
 * const url = new URL(request.url);
 * const target = url.pathname + url.search;
 * const res = await httpRequest(openStream, {
 *   method: request.method,
 *   target,
 *   headers: rewriter.request([...request.headers], target),
 *   body: request.body ? new Uint8Array(await request.arrayBuffer()) : null,
 * }, { decode: true, signal: request.signal });
 * return new Response(res.body, {
 *   status: res.status,
 *   statusText: res.statusText,
 *   headers: rewriter.response(res.headers, target),
 * });
 * ```
 */
export {
  type ByteStream,
  type HttpRequest,
  httpRequest,
  type HttpRequestOptions,
} from "./client.ts";
export { CookieJar, type CookieJarOptions } from "./cookies.ts";
export { HttpEncodeError, HttpParseError } from "./errors.ts";
export { encodeRequestHead, type RequestHead } from "./request.ts";
export { type HttpResponse, readResponse, type ReadResponseOptions } from "./response.ts";
export { HeaderRewriter, type RewriteOptions } from "./rewrite.ts";
