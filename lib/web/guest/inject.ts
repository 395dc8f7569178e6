/**
 * Puts `<script src="/_tun/frame.js">` at the top of an HTML document as it
 * streams by, so it runs before the app's own scripts (frame.ts). It goes
 * after a leading `<!DOCTYPE ...>`: anything before the doctype would switch
 * the page to quirks mode.
 */
import { OWN_PREFIX } from "./protocol.ts";

export const FRAME_SCRIPT = `<script src="${OWN_PREFIX}frame.js"></script>`;
/** Bytes of the document's start looked at for a doctype. */
const LOOK = 1024;

/** Where the script goes in `head` (the document's first bytes, as text). */
export function insertionPoint(head: string): number {
  const m = /^(\xEF\xBB\xBF)?\s*<!doctype[^>]*>/i.exec(head); // BOM as Latin-1 bytes
  return m ? m[0].length : 0;
}

export function injectFrameScript(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let held = new Uint8Array(0);
  let done = false;
  const flushHead = (controller: TransformStreamDefaultController<Uint8Array>) => {
    // Latin-1 keeps one character per byte, so the index maps back to bytes;
    // the doctype itself is ASCII.
    const text = Array.from(held.subarray(0, LOOK), (b) => String.fromCharCode(b)).join("");
    const at = insertionPoint(text);
    controller.enqueue(held.subarray(0, at));
    controller.enqueue(enc.encode(FRAME_SCRIPT));
    controller.enqueue(held.subarray(at));
    done = true;
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (done) return controller.enqueue(chunk);
        const next = new Uint8Array(held.byteLength + chunk.byteLength);
        next.set(held);
        next.set(chunk, held.byteLength);
        held = next;
        if (held.byteLength >= LOOK || held.includes(0x3e /* > */)) flushHead(controller);
      },
      flush(controller) {
        if (!done) flushHead(controller);
      },
    }),
  );
}
