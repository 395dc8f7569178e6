/**
 * Errors raised by the STUN codec and client.
 *
 * Decoding is where untrusted bytes are handled, so every way a datagram can be
 * malformed ends in exactly one error type, {@link StunDecodeError}, naming the
 * wire field at fault. Callers that read from the network catch that one class
 * and drop the datagram; anything else escaping the decoder is a bug.
 */

/** A STUN message or attribute could not be decoded. */
export class StunDecodeError extends Error {
  /** The wire field at fault, e.g. `"magicCookie"` or `"XOR-MAPPED-ADDRESS.family"`. */
  readonly field: string;

  constructor(field: string, detail: string) {
    super(`STUN ${field}: ${detail}`);
    this.name = "StunDecodeError";
    this.field = field;
  }
}

/** A Binding transaction failed: timed out, or the server answered with an error response. */
export class StunBindingError extends Error {
  /** The server's ERROR-CODE (e.g. 420) when it sent an error response; undefined on timeout. */
  readonly code: number | undefined;

  constructor(message: string, code?: number) {
    super(message);
    this.name = "StunBindingError";
    this.code = code;
  }
}
