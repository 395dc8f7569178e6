/** The page's cookie jar (RFC 6265 for one host): scenarios of stores and requests. */
import assert from "node:assert/strict";
import { CookieJar } from "../../../lib/web/http/mod.ts";

const T0 = Date.parse("2030-01-01T00:00:00Z");

type Step =
  /** A response to `path` at T0 + `at` seconds sets these cookies. */
  | { store: string[]; path: string; at?: number }
  /** A request to `path` at T0 + `at` seconds carries this Cookie header. */
  | { header: string | null; path: string; at?: number };

const scenarios: { name: string; steps: Step[] }[] = [
  {
    name: "a cookie without Path is sent under its default path, the response's directory",
    steps: [
      { store: ["sid=1"], path: "/app/login?next=/" },
      { header: "sid=1", path: "/app/login" },
      { header: "sid=1", path: "/app/x/y" },
      { header: "sid=1", path: "/app" },
      { header: null, path: "/application" },
      { header: null, path: "/" },
    ],
  },
  {
    name: "a response at the root or one level deep defaults to path /",
    steps: [
      { store: ["a=1"], path: "/login" },
      { store: ["b=2"], path: "/" },
      { header: "a=1; b=2", path: "/anything/at/all" },
    ],
  },
  {
    name: "Path limits a cookie to that path and below, at a / boundary",
    steps: [
      { store: ["a=1; Path=/api"], path: "/" },
      { header: "a=1", path: "/api" },
      { header: "a=1", path: "/api/v1?x=1" },
      { header: null, path: "/apis" },
      { header: null, path: "/" },
    ],
  },
  {
    name: "a Path ending in / matches everything under it",
    steps: [
      { store: ["a=1; Path=/api/"], path: "/" },
      { header: "a=1", path: "/api/x" },
      { header: null, path: "/api" },
    ],
  },
  {
    name: "a Path not starting with / means the default path",
    steps: [
      { store: ["a=1; Path=api"], path: "/docs/page" },
      { header: "a=1", path: "/docs/other" },
      { header: null, path: "/api" },
    ],
  },
  {
    name: "longer paths go first, then older cookies",
    steps: [
      { store: ["z=1; Path=/"], path: "/" },
      { store: ["y=2; Path=/a/b"], path: "/" },
      { store: ["x=3; Path=/a"], path: "/" },
      { store: ["w=4; Path=/"], path: "/" },
      { header: "y=2; x=3; z=1; w=4", path: "/a/b/c" },
    ],
  },
  {
    name: "the same name and path replaces a cookie, keeping its place",
    steps: [
      { store: ["a=1", "b=2"], path: "/" },
      { store: ["a=3"], path: "/" },
      { header: "a=3; b=2", path: "/" },
    ],
  },
  {
    name: "the same name under another path is another cookie",
    steps: [
      { store: ["a=1; Path=/"], path: "/" },
      { store: ["a=2; Path=/x"], path: "/" },
      { header: "a=2; a=1", path: "/x" },
      { header: "a=1", path: "/" },
    ],
  },
  {
    name: "Max-Age expires a cookie",
    steps: [
      { store: ["a=1; Max-Age=60"], path: "/" },
      { header: "a=1", path: "/", at: 59 },
      { header: null, path: "/", at: 60 },
    ],
  },
  {
    name: "Max-Age=0 deletes a cookie",
    steps: [
      { store: ["a=1", "b=2"], path: "/" },
      { store: ["a=; Max-Age=0"], path: "/", at: 1 },
      { header: "b=2", path: "/", at: 2 },
    ],
  },
  {
    name: "a negative Max-Age deletes a cookie",
    steps: [
      { store: ["a=1"], path: "/" },
      { store: ["a=x; Max-Age=-5"], path: "/" },
      { header: null, path: "/" },
    ],
  },
  {
    name: "Expires expires a cookie",
    steps: [
      { store: ["a=1; Expires=Tue, 01 Jan 2030 00:01:00 GMT"], path: "/" },
      { header: "a=1", path: "/", at: 59 },
      { header: null, path: "/", at: 61 },
    ],
  },
  {
    name: "an Expires in the past deletes a cookie",
    steps: [
      { store: ["a=1"], path: "/" },
      { store: ["a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], path: "/" },
      { header: null, path: "/" },
    ],
  },
  {
    name: "a deletion must name the cookie's path",
    steps: [
      { store: ["a=1; Path=/x"], path: "/" },
      { store: ["a=; Max-Age=0"], path: "/" },
      { header: "a=1", path: "/x" },
    ],
  },
  {
    name: "Max-Age wins over Expires in either order",
    steps: [
      { store: ["a=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], path: "/" },
      { store: ["b=2; Expires=Thu, 01 Jan 2099 00:00:00 GMT; max-age=10"], path: "/" },
      { header: "a=1; b=2", path: "/", at: 5 },
      { header: "a=1", path: "/", at: 50 },
    ],
  },
  {
    name: "a malformed Max-Age or Expires is ignored",
    steps: [
      { store: ["a=1; Max-Age=10s; Expires=someday"], path: "/" },
      { header: "a=1", path: "/", at: 1e6 },
    ],
  },
  {
    name: "Domain, Secure, HttpOnly and SameSite are ignored",
    steps: [
      { store: ["a=1; Domain=other.example; Secure; HttpOnly; SameSite=Strict"], path: "/" },
      { header: "a=1", path: "/" },
    ],
  },
  {
    name: "names and values are trimmed and values may hold = and quotes",
    steps: [
      { store: [' a = "b=c" ; Path=/'], path: "/" },
      { header: 'a="b=c"', path: "/" },
    ],
  },
  {
    name: "an empty value is a cookie",
    steps: [{ store: ["a="], path: "/" }, { header: "a=", path: "/" }],
  },
  {
    name: "a cookie without = or without a name is ignored",
    steps: [{ store: ["novalue", "=x", "; Path=/"], path: "/" }, { header: null, path: "/" }],
  },
  {
    name: "a cookie with a control character is ignored",
    steps: [{ store: ["a=1\x01", "b\x7f=2", "c=3"], path: "/" }, { header: "c=3", path: "/" }],
  },
  {
    name: "a cookie over 4 KiB is ignored, one at exactly 4 KiB is kept",
    steps: [
      { store: [`big=${"x".repeat(4094)}`, `ok=${"y".repeat(4094)}`], path: "/" },
      { header: `ok=${"y".repeat(4094)}`, path: "/" },
    ],
  },
];

for (const { name, steps } of scenarios) {
  Deno.test(`CookieJar: ${name}`, () => {
    const jar = new CookieJar();
    for (const [i, step] of steps.entries()) {
      const now = T0 + (step.at ?? 0) * 1000;
      if ("store" in step) jar.store(step.store, step.path, now);
      else assert.equal(jar.header(step.path, now), step.header, `step ${i}`);
    }
  });
}

Deno.test("CookieJar keeps at most 50 cookies, dropping the oldest unused ones", () => {
  const jar = new CookieJar();
  for (let i = 0; i < 60; i++) jar.store([`c${i}=${i}`], "/", T0);
  assert.equal(jar.size, 50);
  const sent = jar.header("/", T0)!.split("; ");
  assert.deepEqual(sent, Array.from({ length: 50 }, (_, i) => `c${i + 10}=${i + 10}`));
});

Deno.test("CookieJar evicts cookies nobody has sent before those in use", () => {
  const jar = new CookieJar({ maxCookies: 3 });
  jar.store(["a=1; Path=/a", "b=2; Path=/b", "c=3; Path=/c"], "/", T0);
  jar.header("/a", T0); // a is used, b and c are not
  jar.store(["d=4"], "/", T0);
  assert.equal(jar.header("/a", T0), "a=1; d=4");
  assert.equal(jar.header("/b", T0), "d=4", "b was the least recently used");
  assert.equal(jar.header("/c", T0), "c=3; d=4");
});

Deno.test("CookieJar drops expired cookies before evicting live ones", () => {
  const jar = new CookieJar({ maxCookies: 2 });
  jar.store(["a=1", "b=2; Max-Age=1"], "/", T0);
  jar.store(["c=3"], "/", T0 + 5000);
  assert.equal(jar.header("/", T0 + 5000), "a=1; c=3");
});

Deno.test("CookieJar refuses limits that are not positive integers", () => {
  assert.throws(() => new CookieJar({ maxCookies: 0 }), RangeError);
  assert.throws(() => new CookieJar({ maxCookieBytes: -1 }), RangeError);
});
