/**
 * Reading back a saved certificate, so a caller can reuse it and tell when it
 * needs renewing (or no longer covers its addresses).
 */
import { PemConverter, SubjectAlternativeNameExtension, X509Certificate } from "./x509.ts";
import { sha256, spkiSha256Base64 } from "./hash.ts";

/** What {@link certFromPem} reads from a certificate. */
export interface CertInfo {
  /** SHA-256 of the DER (WebTransport `serverCertificateHashes`). */
  sha256: Uint8Array<ArrayBuffer>;
  /** base64 SHA-256 of the SubjectPublicKeyInfo DER (Chromium's SPKI pin list). */
  spkiSha256Base64: string;
  notBefore: Date;
  notAfter: Date;
  /** subjectAltName IP addresses, as text (IPv6 as compressed hex groups, "::ffff:c000:207"). */
  ipAddresses: string[];
  /** subjectAltName DNS names. */
  dnsNames: string[];
}

/** A PEM text that does not hold a parseable certificate. */
export class CertParseError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CertParseError";
  }
}

/** Read the first certificate of a PEM text (untrusted: a file a user may have edited). */
export async function certFromPem(certPem: string): Promise<CertInfo> {
  let cert: X509Certificate;
  try {
    const [der] = PemConverter.decodeWithHeaders(certPem).filter((p) => p.type === "CERTIFICATE");
    if (!der) throw new CertParseError("no CERTIFICATE block in the PEM text");
    cert = new X509Certificate(der.rawData);
  } catch (err) {
    if (err instanceof CertParseError) throw err;
    throw new CertParseError(`certificate does not parse: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const der = new Uint8Array(cert.rawData);
  const names = cert.getExtension(SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    sha256: await sha256(der),
    spkiSha256Base64: await spkiSha256Base64(new Uint8Array(cert.publicKey.rawData)),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ipAddresses: names.filter((n) => n.type === "ip").map((n) => n.value),
    dnsNames: names.filter((n) => n.type === "dns").map((n) => n.value),
  };
}
