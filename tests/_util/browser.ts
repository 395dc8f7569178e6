/**
 * A real headless Chromium for tests, optionally inside a lab network namespace:
 * `await using browser = await launchBrowser({ netns, trustSpki })`, then
 * `const page = await browser.page(url)` and wait for what the page reports.
 *
 * How it runs. playwright-core's `chromium.launch` works as is under Deno: it
 * spawns Chromium through node:child_process with the DevTools pipe on fds 3/4,
 * which Deno's child_process provides, so no Node driver process is needed.
 * Chromium is started through a small generated shell script (`executablePath`)
 * that does `exec ip netns exec NS chromium "$@"`: `ip netns exec` keeps the
 * inherited fds, so Playwright's pipe reaches the browser inside the namespace,
 * while this test process stays in its own. The script also records the
 * browser's pid (it `exec`s, so its pid is Chromium's) so `close()` can kill the
 * whole process group if Chromium does not quit; a lab's teardown kills whatever
 * is left in its namespaces anyway.
 *
 * What the flags are for (checked on Debian's Chromium 156):
 * - `--no-sandbox --disable-gpu --no-first-run --disable-background-networking
 *   --disable-component-update --disable-sync`: run headless as root on a machine
 *   without a GPU, and make no requests of its own (FACTS.md).
 * - `--ignore-certificate-errors-spki-list=H1,H2`: certificates whose public key
 *   hashes to one of these are valid, so an https page on a self-signed cert is a
 *   secure context where Service Workers register (they refuse a script fetched
 *   over a cert error, which Playwright's `ignoreHTTPSErrors` leaves as one).
 *   Chromium documents that the switch needs `--user-data-dir`; headless 156
 *   honours it without, and Playwright passes a fresh one anyway.
 * - `--disable-features=WebRtcHideLocalIpsWithMdns`: Chromium hides a page's
 *   host ICE candidates behind random `<uuid>.local` names unless the page has
 *   camera/microphone permission. Those names resolve only by multicast on the
 *   same link, so between lab namespaces, which are routed, a browser's host
 *   candidates are dead: two browsers on different sites without STUN never
 *   connect, while on one link they do. Off here, so candidates and the pair in
 *   getStats() show real addresses. `mdnsHostCandidates: true` restores it.
 *   Chromium keeps only the last `--disable-features`, and Playwright passes its
 *   own list, so the script merges every `--enable/--disable-features` into one.
 * - WebTransport to an IP literal with `serverCertificateHashes` needs no flag
 *   (ECDSA P-256 cert valid <= 14 days, see lib/cert/webtransport.ts).
 *
 * Local Network Access (Chromium 142+, replacing Private Network Access): a page
 * whose server is at a public address (the lab's 198.18.0.0/15 counts as public)
 * may reach other public addresses freely, but fetch, WebSocket, WebTransport and
 * Service Worker fetches to a private one (10.x) fail with
 * `net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS` unless the user allowed
 * "local network access"; headless denies the prompt at once. The browser's
 * context is granted that permission, as a user who clicked Allow would have
 * (`localNetworkAccess: false` leaves it denied). WebRTC is not checked in 156: a
 * public page's peer connection to a 10.x host candidate opens without the grant.
 *
 * Console messages (pages and Service Workers), uncaught page errors and failed
 * requests are collected in `logs`, printed live when `log` is true (or
 * TUN_BROWSER_LOG=1), appended to every error the helpers throw (BrowserError),
 * and printed by `withLog` when a test's own assertion fails, so a failing
 * browser test says what the page saw.
 */
import { readFileSync, rmSync } from "node:fs";
import { access, chmod, constants as fs, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, ConsoleMessage, Page } from "playwright-core";

/** What to launch. */
export interface BrowserOptions {
  /** Network namespace to run Chromium in (needs root). Default: this process's. */
  netns?: string;
  /** base64 SHA-256 SPKI hashes of self-signed certs to accept as valid. Default none. */
  trustSpki?: string[];
  /** Print console messages, page errors and failed requests live. Default: TUN_BROWSER_LOG=1. */
  log?: boolean;
  /** Grant Local Network Access (public page -> private address). Default true. */
  localNetworkAccess?: boolean;
  /** Keep Chromium's default of hiding host ICE candidates behind mDNS names. Default false. */
  mdnsHostCandidates?: boolean;
}

/** A running browser. `await using` closes it. */
export interface LabBrowser extends AsyncDisposable {
  /** Open `url` in a new tab; resolves once it has loaded (rejects after 15 s). */
  page(url: string): Promise<BrowserPage>;
  /** Every console message, page error and failed request so far, one line each. */
  readonly logs: readonly string[];
  /**
   * Run `fn` (a test's assertions); if it throws, print the browser log first,
   * unless the error is one of this harness's, which carry the log already.
   */
  withLog<T>(fn: () => Promise<T>): Promise<T>;
  /** Close the browser (killed if it has not quit within 5 s), remove its files. Idempotent. */
  close(): Promise<void>;
}

/** One tab. */
export interface BrowserPage {
  /** The Playwright page, for whatever the helpers below do not cover. */
  readonly raw: Page;
  /**
   * Run `fn` in the page and resolve with its (serialisable) result. Rejects with
   * the browser's log if it throws or has not settled within `timeoutMs`.
   */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A, timeoutMs?: number): Promise<R>;
  /**
   * Resolves with the match of the next console message of this page that
   * matches `pattern`. Messages are consumed in order, like LabProcess.waitForLine.
   * Rejects with the browser's log on timeout (default 10 s) or if the page closes.
   */
  waitForConsole(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** A timeout or failure inside the browser; its message ends with the browser's log. */
export class BrowserError extends Error {
  override name = "BrowserError";
}

/** The flags FACTS.md found necessary; the rest is explained in the header. */
const BASE_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const LAUNCH_TIMEOUT_MS = 30_000;
const NAVIGATION_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;
const NETNS_NAME = /^[A-Za-z0-9_.-]+$/;
const SPKI_HASH = /^[A-Za-z0-9+/]{43}=$/;

/** Start Chromium (in `options.netns` if given) with one fresh browser context. */
export async function launchBrowser(options: BrowserOptions = {}): Promise<LabBrowser> {
  const { netns, trustSpki = [], localNetworkAccess = true } = options;
  if (netns !== undefined && !NETNS_NAME.test(netns)) throw new Error(`bad netns name ${netns}`);
  const bad = trustSpki.find((h) => !SPKI_HASH.test(h));
  if (bad !== undefined) throw new Error(`trustSpki: ${bad} is not a base64 SHA-256 hash`);
  const log = options.log ?? process.env.TUN_BROWSER_LOG === "1";
  const executable = await findChromium();
  const dir = await mkdtemp(path.join(tmpdir(), "tun-browser-"));
  track(dir);
  try {
    const launcher = path.join(dir, "chromium");
    await writeFile(launcher, launcherScript(executable, netns, path.join(dir, "pid")));
    await chmod(launcher, 0o755);
    const args = [...BASE_FLAGS];
    if (trustSpki.length) args.push(`--ignore-certificate-errors-spki-list=${trustSpki.join(",")}`);
    if (!options.mdnsHostCandidates) args.push("--disable-features=WebRtcHideLocalIpsWithMdns");
    const browser = await chromium.launch({
      executablePath: launcher,
      args,
      timeout: LAUNCH_TIMEOUT_MS,
    });
    const context = await browser.newContext();
    if (localNetworkAccess) await context.grantPermissions(["local-network-access"]);
    context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
    return new ChromiumBrowser(browser, context, dir, netns ? `browser ${netns}` : "browser", log);
  } catch (error) {
    killRecorded(dir);
    await rm(dir, { recursive: true, force: true });
    untrack(dir);
    throw error;
  }
}

/**
 * The executable Playwright starts. Merges repeated --enable/--disable-features
 * (Chromium honours only the last of each), records its pid, and enters the
 * namespace. `for arg do shift; set -- "$@" "$arg"` rebuilds the argument list
 * while walking the original one.
 */
function launcherScript(executable: string, netns: string | undefined, pidFile: string): string {
  const enter = netns ? `ip netns exec ${quote(netns)} ` : "";
  return `#!/bin/sh
# Generated by tests/_util/browser.ts.
enable=""
disable=""
for arg do
  shift
  case $arg in
    --enable-features=*) enable="$enable,\${arg#*=}" ;;
    --disable-features=*) disable="$disable,\${arg#*=}" ;;
    *) set -- "$@" "$arg" ;;
  esac
done
[ -n "$enable" ] && set -- "$@" "--enable-features=\${enable#,}"
[ -n "$disable" ] && set -- "$@" "--disable-features=\${disable#,}"
echo $$ > ${quote(pidFile)}
exec ${enter}${quote(executable)} "$@"
`;
}

class ChromiumBrowser implements LabBrowser {
  readonly logs: string[] = [];
  readonly #t0 = performance.now();
  #closing: Promise<void> | null = null;

  constructor(
    readonly browser: Browser,
    readonly context: BrowserContext,
    readonly dir: string,
    readonly name: string,
    readonly log: boolean,
  ) {
    // The context sees console messages of every page and of Service Workers.
    context.on("console", (m) => this.#record(`console.${m.type()}`, describeMessage(m)));
    context.on("weberror", (e) => this.#record("pageerror", e.error().stack ?? e.error().message));
    context.on("requestfailed", (r) => {
      this.#record("requestfailed", `${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
    });
    browser.on("disconnected", () => {
      if (!this.#closing) this.#record("browser", "disconnected (crashed or killed)");
    });
  }

  async page(url: string): Promise<BrowserPage> {
    const raw = await this.context.newPage();
    raw.on("crash", () => this.#record("page", `crashed: ${raw.url()}`));
    const page = new ChromiumPage(raw, (what) => this.#failure(what));
    try {
      await raw.goto(url);
    } catch (error) {
      throw this.#failure(`loading ${url}: ${(error as Error).message}`);
    }
    return page;
  }

  async withLog<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof BrowserError)) console.log(`${this.name} log:\n${this.#logText()}`);
      throw error;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close() {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) =>
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS, false)
    );
    try {
      const closed = this.browser.close().then(() => true, () => false);
      if (!await Promise.race([closed, timeout])) killRecorded(this.dir);
    } finally {
      clearTimeout(timer);
      await rm(this.dir, { recursive: true, force: true });
      untrack(this.dir);
    }
  }

  #record(kind: string, text: string) {
    const line = `[+${Math.round(performance.now() - this.#t0)} ms ${kind}] ${text}`;
    this.logs.push(line);
    if (this.log) console.log(`${this.name} ${line}`);
  }

  #failure(what: string): Error {
    return new BrowserError(`${this.name}: ${what}\nbrowser log:\n${this.#logText()}`);
  }

  #logText(): string {
    return this.logs.length ? this.logs.join("\n") : "(nothing)";
  }
}

class ChromiumPage implements BrowserPage {
  readonly #messages: string[] = [];
  #cursor = 0;
  #closed = false;
  #wakeups = new Set<() => void>();

  constructor(readonly raw: Page, readonly failure: (what: string) => Error) {
    raw.on("console", (m) => {
      this.#messages.push(m.text());
      this.#wake();
    });
    raw.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
  }

  async evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A, timeoutMs = 10_000): Promise<R> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.failure(`evaluate: no result within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    // Left pending on timeout; it rejects when the browser closes, and nobody listens.
    const result = this.raw.evaluate(fn as (arg: unknown) => R | Promise<R>, arg);
    result.catch(() => {});
    try {
      return await Promise.race([result, timeout]);
    } catch (error) {
      if (error instanceof BrowserError) throw error;
      throw this.failure(`evaluate: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  waitForConsole(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        while (this.#cursor < this.#messages.length) {
          const match = this.#messages[this.#cursor++].match(pattern);
          if (match) return done(() => resolve(match));
        }
        if (this.#closed) {
          done(() =>
            reject(this.failure(`page closed before a console message matched ${pattern}`))
          );
        }
      };
      const timer = setTimeout(() => {
        done(() =>
          reject(this.failure(`no console message matched ${pattern} within ${timeoutMs} ms`))
        );
      }, timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#wakeups.delete(check);
        settle();
      };
      this.#wakeups.add(check);
      check();
    });
  }

  #wake() {
    for (const wake of [...this.#wakeups]) wake();
  }
}

function describeMessage(m: ConsoleMessage): string {
  const { url, lineNumber } = m.location();
  return url ? `${m.text()} (${url}:${lineNumber + 1})` : m.text();
}

/** `chromium` on PATH (Debian's launcher script, as FACTS.md verified). */
async function findChromium(): Promise<string> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, "chromium");
    try {
      await access(candidate, fs.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error("chromium is not installed: run scripts/setup-lab as root");
}

/** SIGKILL the process group of the browser the launcher recorded, if it is still Chromium. */
function killRecorded(dir: string) {
  const read = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return "";
    }
  };
  const pid = Number(read(path.join(dir, "pid")));
  if (!(pid > 1)) return;
  // Exited already if not Chromium, and the pid may be someone else's by now.
  if (!read(`/proc/${pid}/cmdline`).includes("chromium")) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // gone, or not a group leader
    }
  }
}

// Best effort when the test process exits without closing a browser (a signal
// the lab or Playwright turns into exit): kill it, remove its files. Installed
// only while a browser is open, as in tests/lab/netns.ts.
const openDirs = new Set<string>();

function onExit() {
  for (const dir of openDirs) {
    killRecorded(dir);
    rmSync(dir, { recursive: true, force: true });
  }
  openDirs.clear();
}

function track(dir: string) {
  if (openDirs.size === 0) process.on("exit", onExit);
  openDirs.add(dir);
}

function untrack(dir: string) {
  if (!openDirs.delete(dir) || openDirs.size > 0) return;
  process.off("exit", onExit);
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
