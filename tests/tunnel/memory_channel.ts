/**
 * Test double for a DataChannel: two connected in-memory MessageChannels that
 * deliver asynchronously, in order, and simulate `bufferedAmount` (it grows on
 * send and drains at a configurable rate). Like libwebrtc, a channel whose send
 * queue overflows is closed, and oversized messages are refused.
 */
import { setImmediate } from "node:timers";
import type { MessageChannel } from "../../lib/tunnel/mod.ts";

export interface MemoryChannelOptions {
  /** Bytes delivered per millisecond. Default Infinity: as fast as the event loop turns. */
  bytesPerMs?: number;
  /** A send queue above this closes the channel, as libwebrtc does. Default 16 MiB. */
  maxBufferedAmount?: number;
  /** Largest message accepted. Default 256 KiB. */
  maxMessageSize?: number;
}

export class MemoryChannel implements MessageChannel {
  onmessage: ((data: Uint8Array) => void) | null = null;
  onclose: (() => void) | null = null;
  /** Highest bufferedAmount seen right after a send. */
  peakBufferedAmount = 0;
  /** Why the channel closed itself, if it did. */
  failure: string | null = null;

  peer!: MemoryChannel;
  #queue: Uint8Array[] = [];
  #buffered = 0;
  #closed = false;
  #pumpScheduled = false;
  #budget = 0;
  #lastPump = 0;
  readonly #bytesPerMs: number;
  readonly #maxBuffered: number;
  readonly #maxMessage: number;

  constructor(options: MemoryChannelOptions = {}) {
    this.#bytesPerMs = options.bytesPerMs ?? Infinity;
    this.#maxBuffered = options.maxBufferedAmount ?? 16 * 1024 * 1024;
    this.#maxMessage = options.maxMessageSize ?? 256 * 1024;
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(data: Uint8Array): void {
    if (this.#closed) throw new Error("channel closed");
    if (data.byteLength > this.#maxMessage) throw new Error("message too large");
    this.#queue.push(data.slice());
    this.#buffered += data.byteLength;
    this.peakBufferedAmount = Math.max(this.peakBufferedAmount, this.#buffered);
    if (this.#buffered > this.#maxBuffered) {
      this.failure = `send queue overflow: ${this.#buffered} bytes`;
      this.#closeBoth();
      return;
    }
    this.#schedule();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Like a DataChannel: queued messages still arrive, then the peer sees close.
    this.#schedule();
  }

  /** Resolves once neither end has a delivery pending (so no timer outlives a test). */
  async settled(): Promise<void> {
    while (this.#pumpScheduled || this.peer.#pumpScheduled) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Deliver raw bytes to this channel's receiver as if the peer had sent them. */
  inject(data: Uint8Array): void {
    this.peer.#queue.push(data);
    this.peer.#schedule();
  }

  #schedule(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    if (this.#bytesPerMs === Infinity) {
      setImmediate(() => this.#pump());
    } else {
      setTimeout(() => this.#pump(), 1);
    }
  }

  #pump(): void {
    this.#pumpScheduled = false;
    const now = performance.now();
    if (this.#bytesPerMs !== Infinity) {
      const elapsed = this.#lastPump === 0 ? 1 : now - this.#lastPump;
      const cap = Math.max(10 * this.#bytesPerMs, this.#maxMessage);
      this.#budget = Math.min(this.#budget + elapsed * this.#bytesPerMs, cap);
    }
    this.#lastPump = now;
    while (this.#queue.length > 0) {
      const next = this.#queue[0];
      if (this.#bytesPerMs !== Infinity) {
        if (this.#budget < next.byteLength) break;
        this.#budget -= next.byteLength;
      }
      this.#queue.shift();
      this.#buffered -= next.byteLength;
      this.peer.onmessage?.(next);
    }
    if (this.#queue.length > 0) return this.#schedule();
    if (this.#closed && !this.peer.#closed) {
      this.peer.#closed = true;
      this.peer.#queue = [];
      this.peer.#buffered = 0;
      this.peer.onclose?.();
    }
  }

  #closeBoth(): void {
    for (const side of [this, this.peer]) {
      side.#closed = true;
      side.#queue = [];
      side.#buffered = 0;
    }
    setImmediate(() => {
      this.onclose?.();
      this.peer.onclose?.();
    });
  }
}

/** Two connected channels. */
export function memoryChannelPair(
  options: MemoryChannelOptions = {},
): [MemoryChannel, MemoryChannel] {
  const a = new MemoryChannel(options);
  const b = new MemoryChannel(options);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
