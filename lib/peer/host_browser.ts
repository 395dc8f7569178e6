/**
 * The host's side of browser guests' WebTransport (host_webtransport.ts):
 * offered to a browser guest that asks, once its PAKE proof has verified,
 * and only where the browser can reach this host; a session that proves
 * itself takes over from the guest's DataChannel.
 */
import type { SignalData } from "../signal/mod.ts";
import { HostWebTransport } from "./host_webtransport.ts";
import { WEBTRANSPORT_KEY_LABEL } from "./webtransport_auth.ts";
import type { GuestState, HostContext } from "./host_guest.ts";

export class BrowserGuests {
  readonly #ctx: HostContext;
  /** Null where this runtime has no QUIC (Bun): browsers use DataChannels. */
  readonly #wt: HostWebTransport | null;
  /** The host embeds the relay: browser and host are on one LAN. */
  readonly #lan: boolean;

  constructor(ctx: HostContext, lan: boolean) {
    this.#ctx = ctx;
    this.#lan = lan;
    this.#wt = HostWebTransport.available
      ? new HostWebTransport({
        targetPort: ctx.options.port,
        log: (line) => ctx.out.say(ctx.out.yellow(`note: ${line}`)),
        guest: (peer) => {
          const g = ctx.guests.get(peer);
          if (!g || !g.browser) return undefined;
          return {
            key: () => g.authed && !g.closed ? g.auth.deriveKey(WEBTRANSPORT_KEY_LABEL, 32) : null,
            accept: (link) => {
              if (g.closed || g.wt) return false;
              clearTimeout(g.timer);
              // The browser prefers WebTransport: a DataChannel it opened
              // meanwhile is dropped (it closes its side too).
              if (g.mux) {
                g.mux.onclose = null;
                g.mux.close("the guest moved to WebTransport");
                g.mux = undefined;
                g.path = undefined;
              }
              g.rtc?.close();
              g.rtc = undefined; // a DataChannel opening late must not take over
              g.wt = link;
              g.rttMs = null; // the DataChannel's, if any, no longer applies
              g.since = new Date().toISOString();
              g.reason = "connected";
              link.onclose = (why) => ctx.endGuest(g, why);
              ctx.announce(g);
              return true;
            },
          };
        },
      })
      : null;
  }

  /** A guest said it is a browser: tell it at once whether an offer will come. */
  hello(g: GuestState, data: Extract<SignalData, { kind: "browser" }>): void {
    g.browser = true;
    const wt = this.#wt;
    const offering = data.webtransport && !!wt && this.#reachable(g);
    this.#ctx.send(g, 0, { kind: "browser", webtransport: offering });
    if (offering) this.#offer(g, wt!);
  }

  close(): void {
    this.#wt?.close();
  }

  /**
   * Whether the browser can reach our endpoint: we have the public address
   * the relay sees, or the guest is behind the same NAT (same public address),
   * or we embed the relay (one LAN). Otherwise it would wait for a QUIC
   * handshake that cannot complete while the DataChannel is ready.
   */
  #reachable(g: GuestState): boolean {
    const ownPublic = this.#ctx.signal.welcome.addr.address;
    const guestIp = g.from.replace(/:\d+$/, "");
    return this.#lan || guestIp === ownPublic || HostWebTransport.isLocalAddress(ownPublic);
  }

  /** The offer is tagged with a key derived from the PAKE: sent once the proof verified. */
  async #offer(g: GuestState, wt: HostWebTransport) {
    await g.keyed;
    if (g.closed) return;
    try {
      const offer = await wt.offer(g.auth.deriveKey(WEBTRANSPORT_KEY_LABEL, 32));
      if (!g.closed) this.#ctx.send(g, 0, { kind: "webtransport", ...offer });
    } catch (err) {
      this.#ctx.out.say(
        this.#ctx.out.yellow(`note: WebTransport unavailable: ${(err as Error).message}`),
      );
    }
  }
}
