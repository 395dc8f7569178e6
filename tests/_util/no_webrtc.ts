/**
 * A copy of this checkout whose @roamhq/wrtc cannot find its native part, as
 * on a system where the binary is missing or does not load: the code is
 * linked, node_modules holds links to every package but a real copy of
 * @roamhq/wrtc's JavaScript (so it resolves its binary from here) and no
 * @roamhq/wrtc-<platform>. Removed on dispose.
 */
import path from "node:path";
import { ROOT } from "./tun.ts";

export interface NoWebrtcCheckout extends AsyncDisposable {
  /** The argv that runs tun from the copy. */
  tun: string[];
}

export async function checkoutWithoutWebrtc(): Promise<NoWebrtcCheckout> {
  const dir = await Deno.makeTempDir({ prefix: "tun-nowebrtc-" });
  try {
    for (const entry of ["main.ts", "lib", "relay", "deno.json", "package.json"]) {
      await Deno.symlink(path.join(ROOT, entry), path.join(dir, entry));
    }
    const modules = path.join(dir, "node_modules");
    await Deno.mkdir(path.join(modules, "@roamhq"), { recursive: true });
    for await (const e of Deno.readDir(path.join(ROOT, "node_modules"))) {
      if (e.name === "@roamhq") continue;
      await Deno.symlink(path.join(ROOT, "node_modules", e.name), path.join(modules, e.name));
    }
    await copyDir(
      path.join(ROOT, "node_modules/@roamhq/wrtc"),
      path.join(modules, "@roamhq/wrtc"),
    );
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  return {
    tun: [
      path.join(ROOT, "node_modules/.bin/deno"),
      "run",
      "-A",
      "--unstable-net",
      "--quiet",
      path.join(dir, "main.ts"),
    ],
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory) await copyDir(src, dst);
    else if (e.isFile) await Deno.copyFile(src, dst);
  }
}
