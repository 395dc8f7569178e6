/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Runs first in every page of the shared app (the shell inserts it into HTML
 * it proxies). A browser guest carries HTTP requests only: WebSockets the app
 * opens would reach the relay, not the host. Rather than fail silently, they
 * fail at once with an error event, and the shell tells the user.
 */
import type { FrameNotice } from "./protocol.ts";

const notify = (text: string) => {
  const notice: FrameNotice = { tun: "notice", text };
  try {
    parent.postMessage(notice, location.origin);
  } catch { /* not framed by the shell */ }
};

class UnsupportedWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly url: string;
  readyState = 3;
  protocol = "";
  extensions = "";
  binaryType = "blob";
  bufferedAmount = 0;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  constructor(url: string | URL) {
    super();
    this.url = new URL(url, location.href).href;
    const message = `this app opened a WebSocket (${this.url}); a browser guest ` +
      `carries HTTP only — use "tun p2p-join" for WebSockets`;
    console.warn(`tun: ${message}`);
    notify(message);
    setTimeout(() => {
      const error = new Event("error");
      this.onerror?.(error);
      this.dispatchEvent(error);
      const close = new CloseEvent("close", { code: 1006, reason: "not carried by tun" });
      this.onclose?.(close);
      this.dispatchEvent(close);
    }, 0);
  }
  send(): void {
    throw new DOMException("WebSocket is closed (not carried by tun)", "InvalidStateError");
  }
  close(): void {}
}

(globalThis as unknown as { WebSocket: unknown }).WebSocket = UnsupportedWebSocket;
