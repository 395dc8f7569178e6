/** Messages between the Service Worker (sw.ts) and the shell tab (shell.ts). */

/** Paths the relay serves itself: never proxied to the host. */
export const OWN_PREFIX = "/_tun/";
/** The shell page: /_tun/join/<session name>#<secret>. */
export const SHELL_PREFIX = "/_tun/join/";

/** Worker -> shell, with a MessagePort for the reply. */
export interface ProxyRequest {
  tun: "fetch";
  method: string;
  /** The absolute URL the app asked for (same origin as the shell). */
  url: string;
  headers: [string, string][];
  body: ArrayBuffer | null;
  /** A navigation (page load in the app's frame), whose HTML gets frame.js. */
  navigate: boolean;
}

/** Shell -> worker, on the request's port. */
export type ProxyReply =
  | {
    status: number;
    statusText: string;
    headers: [string, string][];
    body: ReadableStream<Uint8Array> | null;
  }
  | { error: string };

/** App frame (frame.ts) -> shell: something the guest page cannot carry. */
export interface FrameNotice {
  tun: "notice";
  text: string;
}
