/**
 * A private OpenSSH server for the `ssh -L` row: its own config, host key and
 * authorized key in a temp dir made for the run, listening on 127.0.0.1 in the
 * bench's namespace. The system's sshd and its config are not touched; the temp
 * dir goes on dispose (and /run/sshd, the privilege separation directory sshd
 * insists on, if this made it).
 */
import path from "node:path";
import { exec, type LabProcess, run, runChecked, spawnIn } from "../../tests/lab/process.ts";

export interface Sshd extends AsyncDisposable {
  proc: LabProcess;
  /** `ssh` and the options to log in to this server; add yours, then `destination`. */
  clientArgs: string[];
  destination: string;
  /** e.g. "9.2p1". */
  version: string;
  /** The cipher both sides' defaults agree on, e.g. "chacha20-poly1305@openssh.com". */
  cipher: string;
}

const SSHD = "/usr/sbin/sshd";
const PRIVSEP_DIR = "/run/sshd";

export async function startSshd(ns: string, port: number): Promise<Sshd> {
  const dir = await Deno.makeTempDir({ prefix: "tun-bench-ssh-" });
  const madePrivsep = await ensureDir(PRIVSEP_DIR);
  const cleanup = async () => {
    await Deno.remove(dir, { recursive: true });
    if (madePrivsep) await Deno.remove(PRIVSEP_DIR).catch(() => {});
  };
  try {
    const file = (name: string) => path.join(dir, name);
    for (const key of ["host_key", "user_key"]) {
      await runChecked(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", file(key)]);
    }
    await Deno.copyFile(file("user_key.pub"), file("authorized_keys"));
    const hostKey = (await Deno.readTextFile(file("host_key.pub"))).split(" ").slice(0, 2);
    await Deno.writeTextFile(file("known_hosts"), `[127.0.0.1]:${port} ${hostKey.join(" ")}\n`);
    await Deno.writeTextFile(
      file("sshd_config"),
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${file("host_key")}`,
        `AuthorizedKeysFile ${file("authorized_keys")}`,
        "PidFile none",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no", // the temp dir's owner and modes are the bench's business
        "AllowTcpForwarding local",
        "X11Forwarding no",
        "PrintMotd no",
        "",
      ].join("\n"),
    );
    const proc = spawnIn(ns, [SSHD, "-D", "-e", "-f", file("sshd_config")]);
    await waitListening(ns, port).catch((err) => {
      throw new Error(`${err.message}\nsshd: ${proc.stderr}`);
    });
    const clientArgs = [
      "ssh",
      "-F",
      "/dev/null",
      "-i",
      file("user_key"),
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      `UserKnownHostsFile=${file("known_hosts")}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "ExitOnForwardFailure=yes",
      "-p",
      String(port),
    ];
    const destination = "root@127.0.0.1";
    const version = /OpenSSH_(\S+)/.exec((await run(["ssh", "-V"])).stderr)?.[1] ?? "?";
    const cipher =
      /^ciphers ([^,\s]+)/m.exec(await runChecked([...clientArgs, "-G", destination]))?.[1] ?? "?";
    return {
      proc,
      clientArgs,
      destination,
      version: version.replace(/,$/, ""),
      cipher,
      [Symbol.asyncDispose]: async () => {
        await proc.kill();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Make `dir` if it is missing; true if this call made it. */
async function ensureDir(dir: string): Promise<boolean> {
  try {
    await Deno.stat(dir);
    return false;
  } catch {
    await Deno.mkdir(dir, { mode: 0o755 });
    return true;
  }
}

/** Resolves once something listens on TCP `port` in `ns`. */
async function waitListening(ns: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await exec(ns, ["ss", "-Htln", `sport = :${port}`])).stdout.trim() === "") {
    if (performance.now() > deadline) throw new Error(`nothing listens on port ${port} in ${ns}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
