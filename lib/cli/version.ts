/**
 * `tun --version`: the version, the runtime underneath, and what this build
 * can do, since a single-file executable (Bun) and `deno run` differ:
 *
 *   tun 0.1.0 (bun 1.4.5; webrtc yes, quic no, webtransport no)
 */
import process from "node:process";
import { hasQuic, runtimeName } from "../runtime/mod.ts";

export interface Capabilities {
  /** @roamhq/wrtc's native binding loads (DataChannel data plane). */
  webrtc: boolean;
  /** QUIC endpoints (Deno with --unstable-net only). */
  quic: boolean;
  /** WebTransport sessions for browser guests (Deno with --unstable-net only). */
  webtransport: boolean;
}

/** Probe this process: loads the WebRTC binding, which takes ~50 ms. */
export async function capabilities(): Promise<Capabilities> {
  const quic = hasQuic();
  return { webrtc: await webrtcLoads(), quic, webtransport: quic };
}

async function webrtcLoads(): Promise<boolean> {
  try {
    const wrtc = (await import("@roamhq/wrtc")).default as { RTCPeerConnection?: unknown };
    return typeof wrtc.RTCPeerConnection === "function";
  } catch {
    return false; // the native part is missing or does not load on this system
  }
}

/** The one line `tun --version` prints. */
export function versionLine(version: string, caps: Capabilities): string {
  const runtimeVersion = process.versions[runtimeName] ?? "?";
  const yes = (b: boolean) => (b ? "yes" : "no");
  return `tun ${version} (${runtimeName} ${runtimeVersion}; webrtc ${yes(caps.webrtc)}, ` +
    `quic ${yes(caps.quic)}, webtransport ${yes(caps.webtransport)})`;
}

/** Print the version line on stdout; exit code 0. */
export async function runVersion(version: string): Promise<number> {
  process.stdout.write(versionLine(version, await capabilities()) + "\n");
  return 0;
}
