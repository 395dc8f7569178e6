/**
 * Adapts a wrtc RTCDataChannel to the tunnel's MessageChannel contract.
 * `bufferedamountlow` never fires in wrtc (FACTS.md), so the mux polls
 * `bufferedAmount` instead; this adapter only moves bytes and events.
 *
 * wrtc's `readyState` and `bufferedAmount` getters are blocking calls into
 * libwebrtc's network thread (~12 µs idle, far more while it moves data), so
 * `send` does not read `readyState` first: it asks only when a send fails.
 * On wrtc, messages come straight from its native side and go out through
 * its native send (lib/rtc/native.ts `directChannel` says why).
 */
import type { MessageChannel } from "../tunnel/mod.ts";
import type { RawDataChannel } from "./peer.ts";

/**
 * Hooks `onmessage` under the channel's own event dispatch and returns the
 * channel's native send, or null where there is nothing to bypass
 * (lib/rtc/native.ts `directChannel`).
 */
export type DirectChannel = (
  dc: RawDataChannel,
  onmessage: (data: ArrayBuffer | string) => void,
) => ((data: Uint8Array) => void) | null;

export class DataChannelAdapter implements MessageChannel {
  onclose: (() => void) | null = null;
  readonly #dc: RawDataChannel;
  readonly #send: (data: Uint8Array) => void;
  #closed = false;
  #onmessage: ((data: Uint8Array) => void) | null = null;
  /**
   * Messages that arrive before anyone listens. The peer may send as soon as
   * the channel opens, before our side has attached its mux; dropping those
   * would lose its HELLO.
   */
  #early: Uint8Array[] = [];

  constructor(dc: RawDataChannel, direct?: DirectChannel) {
    this.#dc = dc;
    const message = (data: ArrayBuffer | string) => {
      if (typeof data === "string") return; // text is not part of the protocol
      const bytes = new Uint8Array(data);
      if (this.#onmessage && this.#early.length === 0) this.#onmessage(bytes);
      else this.#early.push(bytes); // bounded by the peer's flow-control windows
    };
    // Also the usual way: messages the channel dispatched before `direct`
    // took over (right after it opened) are still on their way there.
    dc.onmessage = (ev) => message(ev.data);
    this.#send = direct?.(dc, message) ?? ((data) => dc.send(data));
    const closed = () => {
      if (this.#closed) return;
      this.#closed = true;
      this.onclose?.();
    };
    dc.onclose = closed;
    dc.onerror = closed;
  }

  get onmessage(): ((data: Uint8Array) => void) | null {
    return this.#onmessage;
  }

  set onmessage(handler: ((data: Uint8Array) => void) | null) {
    this.#onmessage = handler;
    if (!handler || this.#early.length === 0) return;
    // Replay on a microtask, not inside the setter: whoever set the handler
    // (the mux's constructor) finishes setting up first — sends its HELLO,
    // gets its onstream handler — before the peer's early messages arrive.
    queueMicrotask(() => {
      while (this.#early.length > 0 && this.#onmessage) this.#onmessage(this.#early.shift()!);
    });
  }

  get bufferedAmount(): number {
    return this.#dc.bufferedAmount;
  }

  send(data: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#send(data);
    } catch (err) {
      // Closing, and the close event is still on its way: drop, as a closed channel does.
      if (this.#dc.readyState !== "open") return;
      throw err;
    }
  }

  close(): void {
    try {
      this.#dc.close();
    } catch { /* ignore */ }
  }
}
