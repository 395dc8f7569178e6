/**
 * Adapts a wrtc RTCDataChannel to the tunnel's MessageChannel contract.
 * `bufferedamountlow` never fires in wrtc (FACTS.md), so the mux polls
 * `bufferedAmount` instead; this adapter only moves bytes and events.
 */
import type { MessageChannel } from "../tunnel/mod.ts";
import type { RawDataChannel } from "./peer.ts";

export class DataChannelAdapter implements MessageChannel {
  onmessage: ((data: Uint8Array) => void) | null = null;
  onclose: (() => void) | null = null;
  readonly #dc: RawDataChannel;
  #closed = false;

  constructor(dc: RawDataChannel) {
    this.#dc = dc;
    dc.onmessage = (ev) => {
      if (typeof ev.data === "string") return; // text is not part of the protocol
      this.onmessage?.(new Uint8Array(ev.data));
    };
    const closed = () => {
      if (this.#closed) return;
      this.#closed = true;
      this.onclose?.();
    };
    dc.onclose = closed;
    dc.onerror = closed;
  }

  get bufferedAmount(): number {
    return this.#dc.bufferedAmount;
  }

  send(data: Uint8Array): void {
    if (this.#closed || this.#dc.readyState !== "open") return;
    this.#dc.send(data);
  }

  close(): void {
    try {
      this.#dc.close();
    } catch { /* ignore */ }
  }
}
