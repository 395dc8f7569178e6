/**
 * The development certificate for a relay's HTTPS listener when no real one
 * is given (`tun relay --https-listen` without --tls-cert, and the LAN relay
 * that `tun p2p` embeds). It is kept in the state directory and reused, so a
 * user can trust it once (browsers refuse Service Workers on an untrusted
 * certificate); it is remade when it nears expiry or lacks an address asked for.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { certFromPem, selfSignedCert } from "../cert/mod.ts";

export interface DevCert {
  certPem: string;
  keyPem: string;
  /** Where the certificate is (to import it as trusted). */
  certPath: string;
  /** Base64 SHA-256 of the public key (Chromium's --ignore-certificate-errors-spki-list). */
  spkiSha256Base64: string;
  /** SHA-256 of the certificate, hex with colons, as browsers show it. */
  fingerprint: string;
}

/** Days a new development certificate is valid (browsers accept at most 398). */
const VALID_DAYS = 90;
/** Remade when fewer days than this are left. */
const RENEW_DAYS = 7;

export function stateDir(): string {
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), ".local", "state");
  return path.join(state, "tun");
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/** Load the saved development certificate, or make (and save) one covering `ips`. */
export async function devCert(ips: string[], dir = stateDir()): Promise<DevCert> {
  const certPath = path.join(dir, "dev-cert.pem");
  const keyPath = path.join(dir, "dev-key.pem");
  const wanted = [...new Set(["127.0.0.1", ...ips])];
  try {
    const certPem = fs.readFileSync(certPath, "utf8");
    const keyPem = fs.readFileSync(keyPath, "utf8");
    const info = await certFromPem(certPem);
    const fresh = info.notAfter.getTime() - Date.now() > RENEW_DAYS * 86400_000;
    if (fresh && wanted.every((ip) => info.ipAddresses.includes(ip))) {
      return {
        certPem,
        keyPem,
        certPath,
        spkiSha256Base64: info.spkiSha256Base64,
        fingerprint: hex(info.sha256),
      };
    }
    // Keep the addresses it had, so a laptop moving between networks keeps one cert.
    for (const ip of info.ipAddresses) if (!wanted.includes(ip)) wanted.push(ip);
  } catch { /* none yet, or unreadable: make one */ }
  const cert = await selfSignedCert({
    commonName: "tun development relay",
    dnsNames: ["localhost"],
    ipAddresses: wanted.slice(0, 32),
    validDays: VALID_DAYS,
  });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(keyPath, cert.keyPem, { mode: 0o600 });
  fs.writeFileSync(certPath, cert.certPem, { mode: 0o644 });
  return {
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    certPath,
    spkiSha256Base64: cert.spkiSha256Base64,
    fingerprint: hex(cert.sha256),
  };
}
