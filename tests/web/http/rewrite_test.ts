/** The proxy's header policy: the app sees its own origin, the browser sees the public one. */
import assert from "node:assert/strict";
import { CookieJar, HeaderRewriter } from "../../../lib/web/http/mod.ts";

const opts = { publicOrigin: "https://relay.example:7443", targetPort: 3000 };
const fixed: [string, string][] = [["Host", "localhost:3000"]];
const tail: [string, string][] = [["Accept-Encoding", "gzip, deflate"]];

const requests: { name: string; headers: [string, string][]; want: [string, string][] }[] = [
  {
    name: "Host becomes the app's, first, and Accept-Encoding what we can decode",
    headers: [["Accept", "*/*"], ["host", "relay.example:7443"], [
      "Accept-Encoding",
      "gzip, br, zstd",
    ]],
    want: [...fixed, ["Accept", "*/*"], ...tail],
  },
  {
    name: "an Origin equal to the public origin becomes the app's",
    headers: [["Origin", "https://relay.example:7443"]],
    want: [...fixed, ["Origin", "http://localhost:3000"], ...tail],
  },
  {
    name: "an Origin from elsewhere, or null, is kept",
    headers: [["Origin", "https://evil.example"], ["Origin", "null"]],
    want: [...fixed, ["Origin", "https://evil.example"], ["Origin", "null"], ...tail],
  },
  {
    name: "an Origin on the same host but another port is kept",
    headers: [["Origin", "https://relay.example"]],
    want: [...fixed, ["Origin", "https://relay.example"], ...tail],
  },
  {
    name: "a Referer on the public origin keeps its path and query",
    headers: [["Referer", "https://relay.example:7443/app/page?q=1"]],
    want: [...fixed, ["Referer", "http://localhost:3000/app/page?q=1"], ...tail],
  },
  {
    name: "a Referer from elsewhere, or unparseable, is kept",
    headers: [["Referer", "https://search.example/?q=x"], ["referer", "not a url"]],
    want: [...fixed, ["Referer", "https://search.example/?q=x"], ["referer", "not a url"], ...tail],
  },
  {
    name: "a Cookie the caller gives is dropped: the jar is the only source",
    headers: [["Cookie", "relay_session=secret"]],
    want: [...fixed, ...tail],
  },
];

for (const { name, headers, want } of requests) {
  Deno.test(`HeaderRewriter.request: ${name}`, () => {
    assert.deepEqual(new HeaderRewriter(opts).request(headers, "/"), want);
  });
}

const locations: { name: string; value: string; want: string }[] = [
  { name: "http://localhost:<port>", value: "http://localhost:3000/a/b?c=d#e", want: "/a/b?c=d#e" },
  { name: "https://localhost:<port>", value: "https://localhost:3000/x", want: "/x" },
  { name: "http://127.0.0.1:<port>", value: "http://127.0.0.1:3000/login", want: "/login" },
  { name: "an origin without a path", value: "http://localhost:3000", want: "/" },
  { name: "a scheme-relative URL", value: "//localhost:3000/x", want: "/x" },
  { name: "upper case host", value: "HTTP://LOCALHOST:3000/X", want: "/X" },
  { name: "another port", value: "http://localhost:3001/x", want: "http://localhost:3001/x" },
  { name: "the default port", value: "http://localhost/x", want: "http://localhost/x" },
  { name: "another host", value: "https://auth.example/cb", want: "https://auth.example/cb" },
  { name: "a path", value: "/already/relative", want: "/already/relative" },
  { name: "a relative path", value: "next", want: "next" },
  { name: "another scheme", value: "ftp://localhost:3000/x", want: "ftp://localhost:3000/x" },
];

for (const { name, value, want } of locations) {
  Deno.test(`HeaderRewriter.response: a Location to ${name} becomes ${JSON.stringify(want)}`, () => {
    const out = new HeaderRewriter(opts).response([["Location", value]], "/");
    assert.deepEqual(out, [["Location", want]]);
  });
}

Deno.test("HeaderRewriter.response: port 80 matches a Location without a port", () => {
  const out = new HeaderRewriter({ ...opts, targetPort: 80 }).response([[
    "location",
    "http://localhost/x",
  ]], "/");
  assert.deepEqual(out, [["location", "/x"]]);
});

Deno.test("HeaderRewriter moves Set-Cookie into the jar and Cookie onto later requests", () => {
  const jar = new CookieJar();
  const rw = new HeaderRewriter({ ...opts, jar });
  const out = rw.response(
    [["Content-Type", "text/html"], ["Set-Cookie", "sid=abc; HttpOnly"], [
      "set-cookie",
      "theme=dark; Path=/ui",
    ]],
    "/login",
  );
  assert.deepEqual(out, [["Content-Type", "text/html"]]);
  assert.equal(rw.jar, jar);
  assert.deepEqual(rw.request([], "/ui/home"), [...fixed, ...tail, [
    "Cookie",
    "theme=dark; sid=abc",
  ]]);
  assert.deepEqual(rw.request([], "/api"), [...fixed, ...tail, ["Cookie", "sid=abc"]]);
});

Deno.test("HeaderRewriter refuses a bad public origin or port", () => {
  assert.throws(
    () => new HeaderRewriter({ publicOrigin: "relay.example", targetPort: 3000 }),
    TypeError,
  );
  assert.throws(
    () => new HeaderRewriter({ publicOrigin: "ftp://relay.example", targetPort: 3000 }),
    TypeError,
  );
  assert.throws(() => new HeaderRewriter({ ...opts, targetPort: 0 }), RangeError);
  assert.throws(() => new HeaderRewriter({ ...opts, targetPort: 70000 }), RangeError);
});

Deno.test("HeaderRewriter normalises the public origin it is given", () => {
  const rw = new HeaderRewriter({
    publicOrigin: "HTTPS://Relay.Example:7443/some/path",
    targetPort: 3000,
  });
  const out = rw.request([["Origin", "https://relay.example:7443"]], "/");
  assert.deepEqual(out[1], ["Origin", "http://localhost:3000"]);
});
