import { assertEquals } from "../_util/assert.ts";
import { MAX_SDP_LENGTH, parseFingerprint, sdpFingerprint } from "../../lib/pake/mod.ts";

const FP =
  "B7:1A:FF:37:0F:7C:0C:73:FB:F6:22:44:EF:3C:0A:A7:27:7A:0B:55:C2:1B:4F:BC:C0:1D:21:62:15:64:E9:0A";
const WANT = `SHA-256 ${FP}`;
const OTHER = FP.replace("B7:1A", "00:00");

/** An offer as @roamhq/wrtc (libwebrtc) writes it: fingerprint in the m= section. */
const LIBWEBRTC_OFFER = [
  "v=0",
  "o=- 4871542768433239575 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:bwoY",
  "a=ice-pwd:qZfPchRsvxyfwBInOZJe/P2W",
  "a=ice-options:trickle",
  `a=fingerprint:sha-256 ${FP}`,
  "a=setup:actpass",
  "a=mid:0",
  "a=sctp-port:5000",
  "a=max-message-size:262144",
  "",
].join("\r\n");

/** Firefox's shape: the fingerprint at session level, before any m= line. */
const FIREFOX_ANSWER = [
  "v=0",
  "o=mozilla...THIS_IS_SDPARTA-99.0 3110214409339463447 0 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  `a=fingerprint:sha-256 ${FP}`,
  "a=group:BUNDLE 0",
  "a=ice-options:trickle",
  "a=msid-semantic:WMS *",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=sendrecv",
  "a=ice-pwd:9a5c2e4b1d7f3a6c8e0b2d4f6a8c0e1f",
  "a=ice-ufrag:3f2a1b0c",
  "a=mid:0",
  "a=setup:active",
  "a=sctp-port:5000",
  "a=max-message-size:1073741823",
  "",
].join("\r\n");

/** Two bundled m= sections, each repeating the same fingerprint (as Chrome does). */
const BUNDLED = LIBWEBRTC_OFFER.replace("a=group:BUNDLE 0", "a=group:BUNDLE 0 1") + [
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  `a=fingerprint:sha-256 ${FP}`,
  "a=mid:1",
  "",
].join("\r\n");

const withLine = (sdp: string, line: string) => sdp.replace("a=setup:", `${line}\r\na=setup:`);
const withFingerprint = (sdp: string, value: string) =>
  sdp.replace(`a=fingerprint:sha-256 ${FP}`, `a=fingerprint:${value}`);

Deno.test("sdpFingerprint finds and normalises the fingerprint wherever the SDP puts it", () => {
  const cases: [string, string, string | null][] = [
    ["libwebrtc offer, media level", LIBWEBRTC_OFFER, WANT],
    ["Firefox answer, session level", FIREFOX_ANSWER, WANT],
    ["two bundled m= sections with the same fingerprint", BUNDLED, WANT],
    [
      "session and media level agree",
      withLine(FIREFOX_ANSWER, `a=fingerprint:sha-256 ${FP}`),
      WANT,
    ],
    ["lower-case hex", withFingerprint(LIBWEBRTC_OFFER, `sha-256 ${FP.toLowerCase()}`), WANT],
    ["upper-case algorithm", withFingerprint(LIBWEBRTC_OFFER, `SHA-256 ${FP}`), WANT],
    ["LF line endings", LIBWEBRTC_OFFER.replaceAll("\r\n", "\n"), WANT],
    ["trailing blanks", withFingerprint(LIBWEBRTC_OFFER, `sha-256 ${FP} \t`), WANT],
    ["sha-512", withFingerprint(LIBWEBRTC_OFFER, `sha-512 ${FP}:${FP}`), `SHA-512 ${FP}:${FP}`],
    ["no fingerprint", LIBWEBRTC_OFFER.replace(/a=fingerprint:.*\r\n/, ""), null],
    [
      "a second, different fingerprint",
      withLine(LIBWEBRTC_OFFER, `a=fingerprint:sha-256 ${OTHER}`),
      null,
    ],
    [
      "a second one in another case",
      withLine(LIBWEBRTC_OFFER, `a=FINGERPRINT:sha-256 ${OTHER}`),
      null,
    ],
    ["a second one after a lone CR", LIBWEBRTC_OFFER + `\ra=fingerprint:sha-256 ${OTHER}`, null],
    [
      "session and media level disagree",
      withLine(FIREFOX_ANSWER, `a=fingerprint:sha-256 ${OTHER}`),
      null,
    ],
    [
      "the same certificate under two hashes",
      withLine(LIBWEBRTC_OFFER, `a=fingerprint:sha-512 ${FP}:${FP}`),
      null,
    ],
    ["sha-1 is refused", withFingerprint(LIBWEBRTC_OFFER, `sha-1 ${FP.slice(0, 59)}`), null],
    ["md5 is refused", withFingerprint(LIBWEBRTC_OFFER, `md5 ${FP.slice(0, 47)}`), null],
    [
      "digest too short for sha-256",
      withFingerprint(LIBWEBRTC_OFFER, `sha-256 ${FP.slice(3)}`),
      null,
    ],
    ["digest too long for sha-256", withFingerprint(LIBWEBRTC_OFFER, `sha-256 ${FP}:00`), null],
    [
      "hex without colons",
      withFingerprint(LIBWEBRTC_OFFER, `sha-256 ${FP.replaceAll(":", "")}`),
      null,
    ],
    [
      "a non-hex digit",
      withFingerprint(LIBWEBRTC_OFFER, `sha-256 ${FP.replace("B7", "G7")}`),
      null,
    ],
    ["no algorithm", withFingerprint(LIBWEBRTC_OFFER, FP), null],
    ["empty value", withFingerprint(LIBWEBRTC_OFFER, ""), null],
    ["empty SDP", "", null],
    ["oversized SDP", LIBWEBRTC_OFFER + "a=x:" + "y".repeat(MAX_SDP_LENGTH) + "\r\n", null],
  ];
  for (const [name, sdp, want] of cases) assertEquals(sdpFingerprint(sdp), want, name);
});

Deno.test("parseFingerprint accepts any case and spacing of one value and nothing else", () => {
  const cases: [string, string | null][] = [
    [`sha-256 ${FP}`, WANT],
    [`Sha-256   ${FP.toLowerCase()}`, WANT],
    [WANT, WANT],
    [`sha-384 ${FP}:${FP.slice(0, 47)}`, `SHA-384 ${FP}:${FP.slice(0, 47)}`],
    [`sha-256 ${FP} ${FP}`, null],
    [`sha-256\n${FP}`, null],
    [`sha-256 ${FP}:`, null],
    [`sha-256 :${FP}`, null],
    ["", null],
    ["x".repeat(10_000), null],
  ];
  for (const [value, want] of cases) assertEquals(parseFingerprint(value), want, value);
});
