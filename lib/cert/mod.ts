/**
 * Self-signed certificates for tun's HTTPS/WSS and WebTransport listeners:
 * ECDSA P-256 end-entity certs made with WebCrypto, plus the fingerprints
 * browsers pin them by. Runtime-neutral; no file handling (callers that keep a
 * cert on disk read it back with {@link certFromPem} and renew it themselves).
 *
 * @example A cert a browser can pin for WebTransport
 * ```ts
 * const cert = await webTransportCert(["192.0.2.7"]);
 * // serve with cert.certPem / cert.keyPem; the page uses
 * // new WebTransport(url, { serverCertificateHashes: [{ algorithm: "sha-256", value: cert.sha256 }] })
 * ```
 */
export {
  CertOptionsError,
  MAX_VALID_DAYS,
  type SelfSignedCert,
  selfSignedCert,
  type SelfSignedCertOptions,
} from "./self_signed.ts";
export {
  WEBTRANSPORT_MAX_DAYS,
  WEBTRANSPORT_VALID_DAYS,
  webTransportCert,
  type WebTransportCertOptions,
} from "./webtransport.ts";
export { certFromPem, type CertInfo, CertParseError } from "./parse.ts";
export { derToPem } from "./pem.ts";
