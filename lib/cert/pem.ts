/** DER to PEM (RFC 7468 §2: base64 in lines of 64, between BEGIN and END lines). */
export function derToPem(der: Uint8Array, label = "CERTIFICATE"): string {
  let binary = "";
  for (const b of der) binary += String.fromCharCode(b);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
