/**
 * Errors raised by the TURN framing codecs. Like lib/stun's StunDecodeError,
 * every way untrusted framing bytes can be wrong ends in this one class,
 * naming the field at fault; anything else escaping a decoder is a bug.
 */

/** ChannelData, or a stream of STUN and ChannelData frames, could not be decoded. */
export class TurnDecodeError extends Error {
  /** The wire field at fault, e.g. `"ChannelData.length"` or `"stream.frameType"`. */
  readonly field: string;

  constructor(field: string, detail: string) {
    super(`TURN ${field}: ${detail}`);
    this.name = "TurnDecodeError";
    this.field = field;
  }
}
