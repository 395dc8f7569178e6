/**
 * Self-signed certificates (lib/cert): the options a caller can get wrong are
 * refused by name, and what ends up in the certificate (validity, names,
 * extensions, fingerprints, key) is checked by an independent parser,
 * node:crypto's X509Certificate, rather than by the library that wrote it.
 */
import { createHash, createPrivateKey, verify, X509Certificate } from "node:crypto";
import { assert, assertEquals, assertRejects } from "../_util/assert.ts";
import {
  certFromPem,
  CertOptionsError,
  CertParseError,
  derToPem,
  selfSignedCert,
  type SelfSignedCertOptions,
  WEBTRANSPORT_MAX_DAYS,
  webTransportCert,
} from "../../lib/cert/mod.ts";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsageExtension,
  KeyUsagesExtension,
  X509Certificate as PeculiarCert,
} from "../../lib/cert/x509.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const base: SelfSignedCertOptions = { commonName: "tun test", validDays: 30, now: NOW };

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("options a caller can get wrong are refused, naming the field", async () => {
  const cases: [string, Partial<SelfSignedCertOptions>, string | null][] = [
    ["1 day", { validDays: 1 }, null],
    ["397 days (the CA/B limit)", { validDays: 397 }, null],
    ["0 days", { validDays: 0 }, "validDays"],
    ["half a day", { validDays: 0.5 }, "validDays"],
    ["398 days", { validDays: 398 }, "validDays"],
    ["NaN days", { validDays: NaN }, "validDays"],
    ["infinite days", { validDays: Infinity }, "validDays"],
    ["no skew", { notBeforeSkewMs: 0 }, null],
    ["negative skew", { notBeforeSkewMs: -1 }, "notBeforeSkewMs"],
    ["skew over a day", { notBeforeSkewMs: DAY_MS + 1 }, "notBeforeSkewMs"],
    ["empty common name", { commonName: "" }, "commonName"],
    ["IPv6 address", { ipAddresses: ["::1", "fe80::1"] }, null],
    ["host name as an IP", { ipAddresses: ["localhost"] }, "ipAddresses"],
    ["IPv4 with a port", { ipAddresses: ["127.0.0.1:80"] }, "ipAddresses"],
    ["wildcard DNS name", { dnsNames: ["*.example.test", "localhost"] }, null],
    ["DNS name with a space", { dnsNames: ["bad name"] }, "dnsNames"],
    ["DNS label ending in a hyphen", { dnsNames: ["a-.test"] }, "dnsNames"],
    ["empty DNS name", { dnsNames: [""] }, "dnsNames"],
  ];
  for (const [name, patch, field] of cases) {
    const options = { ...base, ...patch };
    if (field === null) {
      await selfSignedCert(options);
      continue;
    }
    const err = await assertRejects(() => selfSignedCert(options), CertOptionsError);
    assertEquals(err.field, field, name);
  }
});

Deno.test("validity starts an hour back and lasts validDays counted from there", async () => {
  const cases: [number, number | undefined, number][] = [
    // validDays, notBeforeSkewMs, expected skew
    [30, undefined, HOUR_MS],
    [1, 0, 0],
    [397, 5 * 60_000, 5 * 60_000],
  ];
  for (const [validDays, notBeforeSkewMs, skew] of cases) {
    const cert = await selfSignedCert({ ...base, validDays, notBeforeSkewMs });
    const parsed = new X509Certificate(cert.certPem);
    const from = new Date(parsed.validFrom).getTime();
    const to = new Date(parsed.validTo).getTime();
    assertEquals(from, NOW - skew);
    assertEquals(to - from, validDays * DAY_MS);
    assertEquals(cert.notBefore.getTime(), from);
    assertEquals(cert.notAfter.getTime(), to);
  }
});

Deno.test("a WebTransport cert stays within the browsers' 14-day limit, skew included", async () => {
  const cert = await webTransportCert(["127.0.0.1"], { now: NOW });
  const parsed = new X509Certificate(cert.certPem);
  const total = new Date(parsed.validTo).getTime() - new Date(parsed.validFrom).getTime();
  assertEquals(total, 13 * DAY_MS);
  assert(total < WEBTRANSPORT_MAX_DAYS * DAY_MS);
  assert(new Date(parsed.validFrom).getTime() < NOW, "already valid for a clock slightly behind");
  // Chromium takes only ECDSA secp256r1 keys for serverCertificateHashes.
  const key = parsed.publicKey.asymmetricKeyDetails;
  assertEquals([parsed.publicKey.asymmetricKeyType, key?.namedCurve], ["ec", "prime256v1"]);
  assertEquals(parsed.subjectAltName, "IP Address:127.0.0.1");
});

Deno.test("the subjectAltName holds exactly the DNS names and IP addresses asked for", async () => {
  const cases: [string[] | undefined, string[] | undefined, string | undefined][] = [
    [undefined, undefined, undefined],
    [["localhost"], undefined, "DNS:localhost"],
    [undefined, ["192.0.2.7"], "IP Address:192.0.2.7"],
    [
      ["tun.test", "*.tun.test"],
      ["10.0.0.1", "::1"],
      "DNS:tun.test, DNS:*.tun.test, IP Address:10.0.0.1, IP Address:::1",
    ],
    // @peculiar/x509 mis-encodes a dotted IPv4 tail; lib/cert rewrites it first.
    [undefined, ["::ffff:192.0.2.7"], "IP Address:::ffff:192.0.2.7"],
    // A SAN has no room for a zone: the address alone goes in.
    [undefined, ["fe80::1%eth0"], "IP Address:fe80::1"],
  ];
  for (const [dnsNames, ipAddresses, expected] of cases) {
    const cert = await selfSignedCert({ ...base, dnsNames, ipAddresses });
    assertEquals(new X509Certificate(cert.certPem).subjectAltName, expected);
  }
});

Deno.test("it is a non-CA server cert for digital signatures, with a fresh positive serial", async () => {
  const a = await selfSignedCert(base);
  const b = await selfSignedCert(base);
  const parsed = new X509Certificate(a.certPem);
  assertEquals(parsed.ca, false);
  assertEquals(parsed.subject, "CN=tun test");
  assertEquals(parsed.issuer, "CN=tun test");
  const peculiar = new PeculiarCert(a.der);
  const bc = peculiar.getExtension(BasicConstraintsExtension);
  assertEquals([bc?.ca, bc?.critical], [false, true]);
  const ku = peculiar.getExtension(KeyUsagesExtension);
  assertEquals([ku?.usages, ku?.critical], [1, /* digitalSignature only */ true]);
  assertEquals([...peculiar.getExtension(ExtendedKeyUsageExtension)?.usages ?? []], [
    "1.3.6.1.5.5.7.3.1",
  ]);
  // 16 bytes, top bit clear (positive, so no 0x00 pad in DER), different each time.
  assertEquals(parsed.serialNumber.length, 32);
  assert(parseInt(parsed.serialNumber.slice(0, 2), 16) < 0x80, parsed.serialNumber);
  assert(parsed.serialNumber !== new X509Certificate(b.certPem).serialNumber);
});

Deno.test("the published hashes match a recomputation from the cert", async () => {
  const cert = await selfSignedCert({ ...base, ipAddresses: ["127.0.0.1"] });
  const parsed = new X509Certificate(cert.certPem);
  assertEquals(hex(cert.der), hex(new Uint8Array(parsed.raw)));
  assertEquals(hex(cert.sha256), createHash("sha256").update(parsed.raw).digest("hex"));
  assertEquals(parsed.fingerprint256.replaceAll(":", "").toLowerCase(), hex(cert.sha256));
  const spki = parsed.publicKey.export({ type: "spki", format: "der" });
  assertEquals(cert.spkiSha256Base64, createHash("sha256").update(spki).digest("base64"));
});

Deno.test("a DER cert written back as PEM is the same cert, in 64-column lines", async () => {
  const cert = await selfSignedCert(base);
  const pem = derToPem(cert.der);
  assertEquals(pem, cert.certPem);
  assert(pem.split("\n").every((line) => line.length <= 64));
  assertEquals(hex(new Uint8Array(new X509Certificate(pem).raw)), hex(cert.der));
});

Deno.test("the private key signs what the cert's public key verifies, and signed the cert", async () => {
  const cert = await selfSignedCert(base);
  assert(cert.keyPem.startsWith("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 PEM");
  const parsed = new X509Certificate(cert.certPem);
  assert(parsed.checkPrivateKey(createPrivateKey(cert.keyPem)));
  assert(parsed.verify(parsed.publicKey), "self-signature");

  const der = new Uint8Array(
    createPrivateKey(cert.keyPem).export({ type: "pkcs8", format: "der" }),
  );
  const key = await crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    [
      "sign",
    ],
  );
  const message = new TextEncoder().encode("tun");
  const signature = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, message),
  );
  const ok = (m: Uint8Array) =>
    verify("sha256", m, { key: parsed.publicKey, dsaEncoding: "ieee-p1363" }, signature);
  assert(ok(message));
  assert(!ok(new TextEncoder().encode("tum")), "a different message does not verify");
});

Deno.test("certFromPem reads back what selfSignedCert made", async () => {
  const cert = await selfSignedCert({
    ...base,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
  });
  const other = await selfSignedCert(base);
  const info = await certFromPem(cert.certPem + other.certPem); // a chain: the first is read
  assertEquals(hex(info.sha256), hex(cert.sha256));
  assertEquals(info.spkiSha256Base64, cert.spkiSha256Base64);
  assertEquals([info.notBefore, info.notAfter], [cert.notBefore, cert.notAfter]);
  assertEquals(info.dnsNames, ["localhost"]);
  assertEquals(info.ipAddresses, ["127.0.0.1", "::1"]);
});

Deno.test("certFromPem refuses text that holds no certificate", async () => {
  const cert = await selfSignedCert(base);
  const body = cert.certPem.split("\n").slice(1, -2).join("\n");
  const cases: [string, string][] = [
    ["empty", ""],
    ["a private key only", cert.keyPem],
    ["garbage", "hello"],
    [
      "a truncated body",
      `-----BEGIN CERTIFICATE-----\n${body.slice(0, 40)}\n-----END CERTIFICATE-----\n`,
    ],
  ];
  for (const [name, text] of cases) {
    await assertRejects(() => certFromPem(text), CertParseError).catch((err) => {
      throw new Error(`${name}: ${err.message}`);
    });
  }
});
