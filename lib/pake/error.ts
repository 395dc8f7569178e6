/** The one error type lib/pake throws: a one-line reason naming what was wrong. */
export class PakeError extends Error {
  override name = "PakeError";
}
