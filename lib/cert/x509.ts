/**
 * @peculiar/x509, loaded after reflect-metadata: its ASN.1 schema decorators
 * call `Reflect.getMetadata` at import time and throw without the polyfill.
 * Every file in lib/cert imports the library from here, never directly, so the
 * order cannot be got wrong.
 */
import "reflect-metadata";
export {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  X509Certificate,
  X509CertificateGenerator,
} from "@peculiar/x509";
