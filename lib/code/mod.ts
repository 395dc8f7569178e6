/**
 * Join codes: short, typed by hand, unambiguous.
 *
 *     K7M2-QX9P-4RTW
 *     ^^^^ session name: minted by the relay, the only part the relay ever sees
 *          ^^^^^^^^^ secret: made by the host, never sent to the relay; it is
 *                    reserved for the peers to authenticate each other (PAKE)
 *
 * Alphabet: Crockford base32 (no I, L, O, U). Parsing is forgiving the way a
 * person types: any case, spaces or dashes anywhere, O read as 0, I and L as 1.
 */

export const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters in the session name (32^4 = ~1M names per relay). */
export const NAME_LENGTH = 4;
/** Characters in the secret (32^8 = 40 bits). */
export const SECRET_LENGTH = 8;

export interface JoinCode {
  /** Names the session at the relay. */
  name: string;
  /** Never leaves the peers. */
  secret: string;
}

export class JoinCodeError extends Error {
  override name = "JoinCodeError";
}

/** Random characters from the alphabet, without modulo bias (32 divides 256). */
export function randomChars(n: number): string {
  // WebCrypto, not node:crypto: this module also runs in the browser guest page.
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

export function mintName(): string {
  return randomChars(NAME_LENGTH);
}

export function mintSecret(): string {
  return randomChars(SECRET_LENGTH);
}

/** Normalise typed characters to the canonical alphabet; null if any is invalid. */
function canonical(text: string): string | null {
  let out = "";
  for (const raw of text.toUpperCase()) {
    if (raw === "-" || raw === " " || raw === "_") continue;
    const ch = raw === "O" ? "0" : raw === "I" || raw === "L" ? "1" : raw;
    if (!ALPHABET.includes(ch)) return null;
    out += ch;
  }
  return out;
}

/** Whether `name` is a well-formed session name (as sent to the relay). */
export function isValidName(name: string): boolean {
  return name.length === NAME_LENGTH && canonical(name) === name;
}

/** Parse a typed join code. Throws JoinCodeError with a one-line reason. */
export function parseJoinCode(text: string): JoinCode {
  const c = canonical(text.trim());
  if (c === null) {
    throw new JoinCodeError(
      `join code "${text}" has a character outside 0-9 and A-Z (without I, L, O, U)`,
    );
  }
  if (c.length !== NAME_LENGTH + SECRET_LENGTH) {
    throw new JoinCodeError(
      `join code "${text}" should have ${
        NAME_LENGTH + SECRET_LENGTH
      } characters, like K7M2-QX9P-4RTW`,
    );
  }
  return { name: c.slice(0, NAME_LENGTH), secret: c.slice(NAME_LENGTH) };
}

/** The canonical printed form: NAME-SECR-ETXX. */
export function formatJoinCode(code: JoinCode): string {
  const s = code.name + code.secret;
  const groups: string[] = [];
  for (let i = 0; i < s.length; i += 4) groups.push(s.slice(i, i + 4));
  return groups.join("-");
}
