/** ICE server lists for the two connection attempts: direct first, then relay mode. */
import type { IceServer } from "../signal/mod.ts";

/** How long relay mode may take to open the DataChannel before the guest gives up. */
export const RELAY_MODE_TIMEOUT_MS = 20_000;

/** STUN servers (for the direct attempt) and TURN servers (for relay mode). */
export function splitIceServers(list: IceServer[]): { stun: IceServer[]; turn: IceServer[] } {
  const pick = (scheme: RegExp) =>
    list
      .map((s) => ({ ...s, urls: s.urls.filter((u) => scheme.test(u)) }))
      .filter((s) => s.urls.length > 0);
  return { stun: pick(/^stuns?:/i), turn: pick(/^turns?:/i) };
}
