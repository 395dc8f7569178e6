/**
 * Password-authenticated key exchange for the join code: CPace over
 * ristretto255/SHA-512 (draft-irtf-cfrg-cpace-21) between guest and host, plus
 * key confirmation that binds both DTLS fingerprints. Pure functions, no I/O.
 *
 *     const sid = randomSid();                       // host makes it, sends it
 *     const run = startPake({ role, password: code.secret, sid, context: code.name });
 *     send(run.message);                             // 32 bytes
 *     const s = run.finish(await receive());         // PakeError on a bad element
 *     const transcript = { initiatorFingerprint, responderFingerprint };
 *     send(s.confirm(transcript));                   // 64 bytes
 *     if (!s.verify(await receive(), transcript)) abort("wrong code or tampered SDP");
 */
export { PakeError } from "./error.ts";
export { MAX_SDP_LENGTH, parseFingerprint, sdpFingerprint } from "./fingerprint.ts";
export {
  CONTEXT_MAX,
  DERIVE_MAX,
  LABEL_MAX,
  MESSAGE_LENGTH,
  type PakeOptions,
  type PakeRole,
  type PakeSession,
  type PakeStart,
  type PakeTranscript,
  PASSWORD_MAX,
  randomSid,
  SID_LENGTH,
  SID_MAX,
  SID_MIN,
  startPake,
  TAG_LENGTH,
} from "./session.ts";
