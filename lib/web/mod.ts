/**
 * Browser guests: a page the relay serves, which joins a session with the
 * same signalling and PAKE as `tun p2p-join` and shows the host's web app
 * through a Service Worker (guest/). Server side: the page and its scripts.
 */
export { landingPage, shellPage } from "./page.ts";
export { type WebAssets, webAssets } from "./bundle.ts";
export { FRAME_SCRIPT } from "./guest/inject.ts";
