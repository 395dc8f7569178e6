/**
 * Certificates for WebTransport `serverCertificateHashes`.
 *
 * The W3C WebTransport spec ("custom certificate requirements") and Chromium
 * accept a pinned hash only for an ECDSA P-256 (secp256r1) X.509v3 certificate
 * whose whole validity, notAfter − notBefore, is at most 14 days. No name is
 * checked, and no CA is involved.
 */
import { type SelfSignedCert, selfSignedCert } from "./self_signed.ts";

/** Longest validity (notAfter − notBefore) a browser accepts for a pinned hash, in days. */
export const WEBTRANSPORT_MAX_DAYS = 14;

/**
 * Validity of the certs {@link webTransportCert} makes, in days, counting the
 * 1-hour notBefore skew: one day of margin under {@link WEBTRANSPORT_MAX_DAYS}.
 */
export const WEBTRANSPORT_VALID_DAYS = 13;

/** Optional extras for {@link webTransportCert}. */
export interface WebTransportCertOptions {
  /** DNS names for the subjectAltName. Default none (browsers ignore names here). */
  dnsNames?: string[];
  /** The current time in ms since the epoch. Default `Date.now()`; for tests. */
  now?: number;
}

/**
 * A certificate for a WebTransport server reached by IP address: valid
 * {@link WEBTRANSPORT_VALID_DAYS} days from one hour ago, `ips` in its
 * subjectAltName (for clients that verify names, such as Deno.connectQuic
 * with `caCerts`).
 */
export function webTransportCert(
  ips: string[],
  options: WebTransportCertOptions = {},
): Promise<SelfSignedCert> {
  return selfSignedCert({
    commonName: "tun webtransport",
    ipAddresses: ips,
    dnsNames: options.dnsNames,
    validDays: WEBTRANSPORT_VALID_DAYS,
    now: options.now,
  });
}
