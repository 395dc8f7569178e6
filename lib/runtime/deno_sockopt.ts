/** Deno adapter, socket options: libc's getsockopt/setsockopt through Deno.dlopen (--allow-ffi). */
import { type SockOpts, sockOptsOver } from "./udp_buffers.ts";

let bound: SockOpts | null | undefined;

/** libc's int socket options, or null where FFI is unavailable or not permitted. */
export function sockOpts(): Promise<SockOpts | null> {
  return Promise.resolve(bind());
}

function bind(): SockOpts | null {
  if (bound !== undefined) return bound;
  bound = null;
  if (Deno.build.os !== "linux") return bound;
  // Never prompt for the permission: without it, sockets keep their size.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return bound;
  try {
    const lib = Deno.dlopen("libc.so.6", {
      getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
      setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    });
    bound = sockOptsOver(lib.symbols);
  } catch {
    // no libc.so.6 (musl), or --allow-ffi not given
  }
  return bound;
}
