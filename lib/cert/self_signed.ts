/**
 * Self-signed end-entity certificates for tun's own TLS and QUIC listeners.
 *
 * Always ECDSA P-256 with SHA-256: the one key type every TLS stack here
 * accepts (rustls in Deno, BoringSSL in Bun and Chromium), and the only kind
 * Chromium takes for WebTransport `serverCertificateHashes`.
 *
 * The certificate is an end-entity (basicConstraints CA:FALSE): rustls/webpki,
 * given it as a trust anchor in `caCerts`, refuses a self-signed cert that says
 * it is a CA (RFC 5280 §4.2.1.9 puts CA:TRUE certs in the signing role only).
 */
import { isIP } from "node:net";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from "./x509.ts";
import { sha256, spkiSha256Base64 } from "./hash.ts";

const DAY_MS = 86_400_000;

/**
 * Longest validity accepted, in days: the CA/Browser Forum limit for server
 * certificates (Baseline Requirements §6.3.2), which Apple and Chromium also
 * enforce on user-trusted certs.
 */
export const MAX_VALID_DAYS = 397;

/** Options for {@link selfSignedCert}. */
export interface SelfSignedCertOptions {
  /** Subject and issuer common name (CN). Required, non-empty. */
  commonName: string;
  /** DNS names for the subjectAltName. Default none. */
  dnsNames?: string[];
  /** IPv4/IPv6 addresses for the subjectAltName. Default none. */
  ipAddresses?: string[];
  /**
   * Whole validity, notAfter − notBefore, in days; 1..397. It is counted from
   * notBefore, so the clock skew allowance below is part of it.
   */
  validDays: number;
  /**
   * How far notBefore lies before now, so a peer whose clock is a little
   * behind still accepts the cert. Default 1 hour; 0..1 day.
   */
  notBeforeSkewMs?: number;
  /** The current time in ms since the epoch. Default `Date.now()`; for tests. */
  now?: number;
}

/** A fresh certificate and its private key. */
export interface SelfSignedCert {
  /** The certificate, PEM. */
  certPem: string;
  /** The private key, PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  keyPem: string;
  /** The certificate, DER. */
  der: Uint8Array<ArrayBuffer>;
  /** SHA-256 of the DER: the value for WebTransport `serverCertificateHashes`. */
  sha256: Uint8Array<ArrayBuffer>;
  /**
   * base64 SHA-256 of the SubjectPublicKeyInfo DER: the form Chromium's
   * `--ignore-certificate-errors-spki-list` takes.
   */
  spkiSha256Base64: string;
  /** Start of validity (whole seconds: X.509 times carry no milliseconds). */
  notBefore: Date;
  /** End of validity (whole seconds). */
  notAfter: Date;
}

/** An invalid {@link SelfSignedCertOptions} field. */
export class CertOptionsError extends RangeError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "CertOptionsError";
  }
}

/** Make a self-signed ECDSA P-256 end-entity certificate for TLS servers. */
export async function selfSignedCert(options: SelfSignedCertOptions): Promise<SelfSignedCert> {
  const o = validate(options);
  const now = o.now ?? Date.now();
  const notBefore = floorToSecond(now - (o.notBeforeSkewMs ?? 3_600_000));
  const notAfter = floorToSecond(notBefore.getTime() + o.validDays * DAY_MS);
  const keys = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign", "verify"],
  );
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: [{ CN: [o.commonName] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
      new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
      ...subjectAltName(o.dnsNames ?? [], o.ipAddresses ?? []),
    ],
  });
  const der = new Uint8Array(cert.rawData);
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: ensureNewline(cert.toString("pem")),
    keyPem: ensureNewline(PemConverter.encode(pkcs8, "PRIVATE KEY")),
    der,
    sha256: await sha256(der),
    spkiSha256Base64: await spkiSha256Base64(new Uint8Array(cert.publicKey.rawData)),
    notBefore,
    notAfter,
  };
}

function validate(o: SelfSignedCertOptions): SelfSignedCertOptions {
  if (typeof o.commonName !== "string" || o.commonName.length === 0) {
    throw new CertOptionsError("commonName", "must be a non-empty string");
  }
  const days = o.validDays;
  if (typeof days !== "number" || !Number.isFinite(days) || days < 1 || days > MAX_VALID_DAYS) {
    throw new CertOptionsError("validDays", `must be 1..${MAX_VALID_DAYS}, got ${days}`);
  }
  const skew = o.notBeforeSkewMs;
  if (skew !== undefined && !(Number.isFinite(skew) && skew >= 0 && skew <= DAY_MS)) {
    throw new CertOptionsError("notBeforeSkewMs", `must be 0..${DAY_MS}, got ${skew}`);
  }
  if (o.now !== undefined && !Number.isFinite(o.now)) {
    throw new CertOptionsError("now", `must be a finite number, got ${o.now}`);
  }
  for (const name of o.dnsNames ?? []) {
    if (!isDnsName(name)) {
      throw new CertOptionsError("dnsNames", `not a DNS name: ${JSON.stringify(name)}`);
    }
  }
  for (const ip of o.ipAddresses ?? []) {
    if (isIP(ip) === 0) {
      throw new CertOptionsError("ipAddresses", `not an IP address: ${JSON.stringify(ip)}`);
    }
  }
  return o;
}

/**
 * RFC 5280 §4.2.1.6: a dNSName is a host name in the preferred syntax of
 * RFC 1034 §3.5 (letters, digits, inner hyphens; labels of 1..63, 253 in all),
 * optionally with a leading "*." wildcard label.
 */
function isDnsName(name: unknown): boolean {
  if (typeof name !== "string" || name.length === 0 || name.length > 253) return false;
  const labels = (name.startsWith("*.") ? name.slice(2) : name).split(".");
  return labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(l));
}

function subjectAltName(dnsNames: string[], ips: string[]): SubjectAlternativeNameExtension[] {
  if (dnsNames.length + ips.length === 0) return [];
  return [
    new SubjectAlternativeNameExtension([
      ...dnsNames.map((value) => ({ type: "dns" as const, value })),
      ...ips.map((ip) => ({ type: "ip" as const, value: sanIpText(ip) })),
    ]),
  ];
}

/**
 * The text @peculiar/x509 gets for an IP SAN. A zone ("fe80::1%eth0") is
 * dropped: a SAN holds only the 16 address bytes (RFC 5280 §4.2.1.6). A dotted
 * IPv4 tail becomes hex ("::ffff:192.0.2.7" -> "::ffff:c000:207"): the library
 * (2.2.0) encodes the dotted form wrongly ("::ffff:1.2.3.4" becomes "::ffff:1").
 */
function sanIpText(ip: string): string {
  const address = ip.split("%")[0];
  const m = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (!m) return address;
  const [a, b, c, d] = m.slice(2).map(Number);
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * 16 random bytes with the top bit cleared, so the DER INTEGER is positive
 * (RFC 5280 §4.1.2.2), and the next bit set, so no leading zero byte is
 * dropped: 126 bits of randomness, above the CA/B Forum's 64.
 */
function randomSerialHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function floorToSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function ensureNewline(pem: string): string {
  return pem.endsWith("\n") ? pem : pem + "\n";
}
