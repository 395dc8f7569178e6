/** The two fingerprints tun publishes for a certificate. */

/** SHA-256 of `bytes` (WebCrypto). */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

/**
 * base64 (standard alphabet, padded) SHA-256 of a SubjectPublicKeyInfo DER:
 * the pin format of Chromium's `--ignore-certificate-errors-spki-list`.
 */
export async function spkiSha256Base64(spkiDer: Uint8Array): Promise<string> {
  return btoa(String.fromCharCode(...await sha256(spkiDer)));
}
