/**
 * What peers say to the relay's QUIC listener (ALPN {@link RELAY_ALPN}): one
 * request per bidirectional stream a peer opens, named by its first byte.
 *
 *     OBSERVE   0x01                relay: status, then u8 n, n bytes "ip:port"
 *                                   (the peer's address as the relay sees it), FIN
 *     ATTACH    0x02 token(16)      relay: status; the stream stays open while
 *                                   the pair lives. Streams the other peer opens
 *                                   with OPEN arrive on this connection.
 *     OPEN      0x03 token(16)      relay: status; then this stream is spliced to
 *                                   a new stream on the other peer's attached
 *                                   connection, which starts SPLICED 0x04 and
 *                                   that peer's own token(16)
 *     status    0x00                ok
 *               0x01 u8 n reason(n) refused, then FIN
 *
 * Tokens are minted per pair (a host and one guest) by the relay and handed to
 * each side over its signalling connection (`joined`/`guest`): a peer can
 * splice only towards the peer it was introduced to. The relay sees spliced
 * streams' bytes, which the peers seal end to end (sealed.ts).
 */
import type { PrefixReader } from "./stream_reader.ts";

/** ALPN of the relay's QUIC listener. */
export const RELAY_ALPN = "tun-relay/1";
/** The name in the relay's self-signed certificate, checked by peers that pin it. */
export const RELAY_SERVER_NAME = "tun-relay";
export const TOKEN_LENGTH = 16;

export const OBSERVE = 0x01;
export const ATTACH = 0x02;
export const OPEN = 0x03;
export const SPLICED = 0x04;
const OK = 0x00;
const REFUSED = 0x01;

export type RelayRequest =
  | { type: typeof OBSERVE }
  | { type: typeof ATTACH | typeof OPEN | typeof SPLICED; token: Uint8Array };

/** A malformed request or answer; `field` names what was wrong. */
export class RelayWireError extends Error {
  override name = "RelayWireError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export function encodeRequest(req: RelayRequest): Uint8Array {
  if (req.type === OBSERVE) return new Uint8Array([OBSERVE]);
  if (req.token.byteLength !== TOKEN_LENGTH) {
    throw new RelayWireError("token", `a token is ${TOKEN_LENGTH} bytes`);
  }
  const out = new Uint8Array(1 + TOKEN_LENGTH);
  out[0] = req.type;
  out.set(req.token, 1);
  return out;
}

/** Untrusted bytes enter here. The request at the front of a stream. */
export async function readRequest(r: PrefixReader): Promise<RelayRequest> {
  const type = await r.byte();
  if (type === null) throw new RelayWireError("type", "stream ended before its request");
  if (type === OBSERVE) return { type };
  if (type !== ATTACH && type !== OPEN && type !== SPLICED) {
    throw new RelayWireError("type", `unknown request 0x${type.toString(16).padStart(2, "0")}`);
  }
  const token = await r.read(TOKEN_LENGTH);
  if (!token) throw new RelayWireError("token", "stream ended inside the token");
  return { type, token };
}

/** A status: ok (no reason) or refused with a reason (at most 255 bytes of UTF-8). */
export function encodeStatus(refusal?: string): Uint8Array {
  if (refusal === undefined) return new Uint8Array([OK]);
  const reason = new TextEncoder().encode(refusal).subarray(0, 255);
  return new Uint8Array([REFUSED, reason.byteLength, ...reason]);
}

/** Untrusted bytes enter here. Null for ok, else the relay's reason. */
export async function readStatus(r: PrefixReader): Promise<string | null> {
  const status = await r.byte();
  if (status === OK) return null;
  if (status !== REFUSED) {
    throw new RelayWireError("status", status === null ? "no answer" : `bad status ${status}`);
  }
  const n = await r.byte();
  const reason = n === null ? null : await r.read(n);
  if (!reason) throw new RelayWireError("reason", "stream ended inside the reason");
  return new TextDecoder().decode(reason);
}

/** "ip:port" ("[v6]:port" for IPv6), as OBSERVE answers and QUIC candidates are written. */
export function formatAddress(address: string, port: number): string {
  const ip = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Untrusted text enters here. "ip:port" back to its parts, or null. */
export function parseAddress(text: string): { address: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { address: m[1] ?? m[2], port };
}

export function encodeObserved(address: string, port: number): Uint8Array {
  const text = new TextEncoder().encode(formatAddress(address, port));
  return new Uint8Array([OK, text.byteLength, ...text]);
}

/** Untrusted bytes enter here. The OBSERVE answer after its status. */
export async function readObserved(r: PrefixReader): Promise<{ address: string; port: number }> {
  const n = await r.byte();
  const text = n === null ? null : await r.read(n);
  const parsed = text ? parseAddress(new TextDecoder().decode(text)) : null;
  if (!parsed) throw new RelayWireError("address", "the relay's observed address is malformed");
  return parsed;
}
