/**
 * The app behind every bench row: an HTTP/1.1 server on 127.0.0.1:0 that
 * prints {"port":N} once listening.
 *
 *   GET /file/<name>   a file from the directory given as the first argument
 *   GET /hello/<n>     "hello <n>\n" (the small requests)
 *
 * Deno.serve (hyper) rather than the tests' node:http fixture: it serves a file
 * at ~900 MB/s and ~45k small requests a second on this machine, 1.5-5x the
 * fixture, so the raw TCP row shows loopback's limit rather than the app's,
 * and it logs nothing per request.
 *
 *   deno run -A scripts/benchkit/app.ts <dir>
 */
const dir = Deno.args[0] ?? ".";

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, async (req) => {
  const { pathname } = new URL(req.url);
  if (pathname.startsWith("/hello/")) return new Response(`hello ${pathname.slice(7)}\n`);
  if (pathname.startsWith("/file/")) {
    const name = pathname.slice(6);
    if (name.includes("/") || name.startsWith(".")) {
      return new Response("bad name\n", { status: 400 });
    }
    try {
      const file = await Deno.open(`${dir}/${name}`);
      const { size } = await file.stat();
      return new Response(file.readable, { headers: { "content-length": String(size) } });
    } catch {
      return new Response("not found\n", { status: 404 });
    }
  }
  return new Response("not found\n", { status: 404 });
});
