/** Relay URLs as users type them, and the STUN server a peer derives from one. */
import os from "node:os";

/** "relay.example:7700" → "http://relay.example:7700"; throws on anything unusable. */
export function normaliseRelayUrl(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new Error(`relay "${text}" is not a URL (expected http://host:port)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new Error(`relay URL must be http:// or https://, got "${text}"`);
  }
  if (!u.hostname) throw new Error(`relay URL "${text}" has no host`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** The relay's host as an ICE server URL wants it (IPv6 in brackets). */
export function stunUrl(relayUrl: string, stunPort: number): string {
  const host = new URL(relayUrl).hostname; // keeps [..] for IPv6
  return `stun:${host}:${stunPort}`;
}

/** This machine's first non-internal IPv4 address, for the printed LAN join command. */
export function lanAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === "IPv4" && !a.internal) return a.address;
    }
  }
  return "127.0.0.1";
}
