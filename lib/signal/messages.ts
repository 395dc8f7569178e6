/**
 * Signalling messages between peers and the relay: CBOR maps over a WebSocket.
 *
 * Every message is a CBOR map with `v` (protocol version, {@link VERSION}) and
 * `t` (type). Peers and the relay decode with {@link decodeMessage}, which
 * checks size before decoding and shape after, so a malformed, unknown or
 * oversized message becomes a {@link SignalDecodeError} naming what was wrong.
 *
 *   peer  -> relay   host                      register as a host; relay mints a name
 *   relay -> host    hosted {name, ttl_s, ice, web}
 *                                              ice: STUN/TURN servers (with TURN
 *                                              credentials) for session members only;
 *                                              web: the relay's https origin for
 *                                              browser guests, or null
 *   peer  -> relay   join {name}               join the session `name` as a guest
 *   relay -> guest   joined {peer, ice, quic_token?}
 *                                              your id within the session; quic_token:
 *                                              this guest's side of the pair at the
 *                                              relay's QUIC listener (relay mode)
 *   relay -> host    guest {peer, addr, quic_token?}
 *                                              a guest joined (addr as the relay saw
 *                                              it); quic_token: the host's side of it
 *   peer  -> relay   signal {peer, epoch, data} SDP/ICE for the other side; the relay
 *   relay -> peer    signal {peer, epoch, data}   rewrites `peer` to the sender's id.
 *                                              `epoch` counts connection attempts (0 =
 *                                              direct, then relay mode), so late
 *                                              messages of an old attempt are ignored
 *   relay -> peer    bye {peer, reason}        the other side left
 *   relay -> peer    welcome {addr, stun_port, stun_alt_port, quic?}
 *                                              first message: observed address, STUN
 *                                              ports (a second one for mapping probes);
 *                                              quic: the relay's QUIC listener, its UDP
 *                                              port and certificate (DER), when it has one
 *   relay -> peer    error {message}           sent just before the relay closes
 *   either           ping / pong               keep-alive
 */
// "cbor-x/encode" is the pure-JS build: the root export loads the native
// cbor-extract addon, which crashes Deno (it links against V8 symbols).
import { Decoder, Encoder } from "cbor-x/encode";
import type { Behaviour } from "../nat/mod.ts";

export const VERSION = 1;
/**
 * The relay's `error` to a host's guests when the host's connection ends: the
 * one case in which a guest connected peer to peer asks whether the host is
 * still there (lib/peer/liveness.ts). Any other end of the relay's
 * connection is the relay going, which connected peers ride out.
 */
export const HOST_LEFT = "the host has left";
/** Largest encoded message either side accepts (an SDP is a few KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_STRING = 16 * 1024;

/** An ICE server as RTCPeerConnection takes it. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** At most this many ICE servers, and URLs per server, in one message. */
export const MAX_ICE_SERVERS = 8;

export interface Addr {
  address: string;
  port: number;
}

/** Payload of a `signal` message: what the two peers exchange through the relay. */
export type SignalData =
  | { kind: "offer"; sdp: string }
  | { kind: "answer"; sdp: string }
  | { kind: "candidate"; candidate: string; mid: string | null; mline: number | null }
  | { kind: "end-of-candidates" }
  /** Guest to host: give up the direct attempt; the next offer is relay-only. */
  | { kind: "relay-mode"; reason: string }
  /** Each peer's NAT behaviour, from its probe (lib/nat), shared so the guest can skip a
   *  direct attempt that cannot work. */
  | { kind: "nat"; nat: NatInfo }
  /** The join code's PAKE (lib/pake): guest's first message carries `sid`. */
  | { kind: "pake"; sid: Uint8Array | null; y: Uint8Array }
  /** Key confirmation binding both DTLS fingerprints of this epoch to the PAKE key. */
  | { kind: "confirm"; tag: Uint8Array }
  /** Host to guest: not accepted (wrong code, full, retired code). */
  | { kind: "reject"; reason: string }
  /** Guest to host, first: a browser guest, and whether it can use WebTransport. */
  | { kind: "browser"; webtransport: boolean }
  /**
   * Host to a browser guest: its WebTransport endpoint (lib/quic). `tag` is an
   * HMAC under a key derived from the PAKE (lib/peer/webtransport.ts), so the
   * relay can neither swap the certificate hash nor redirect the guest.
   */
  | { kind: "webtransport"; urls: string[]; cert_hash: Uint8Array; tag: Uint8Array }
  /**
   * The QUIC data plane (lib/quic), guest first then host's answer: this
   * peer's self-signed certificate (DER; its SHA-256 is bound to the PAKE by
   * the `confirm` tags) and the "ip:port" addresses its QUIC endpoint may be
   * reached at, the relay-observed one first. A guest's first message.
   */
  | { kind: "quic"; cert: Uint8Array; addrs: string[] };

/** What one peer tells the other about its NAT (null: not determined). */
export interface NatInfo {
  udp: boolean;
  mapping: Behaviour | null;
  filtering: Behaviour | null;
  mapping_stable: boolean | null;
  /** The public IP the relay saw, to tell whether both peers share one NAT. */
  public_ip: string | null;
}

/** The relay's QUIC listener, as `welcome` announces it. */
export interface QuicListenerInfo {
  port: number;
  /** Its self-signed certificate, DER: peers trust exactly this one. */
  cert: Uint8Array;
}

/** Most QUIC addresses one peer offers. */
export const MAX_QUIC_ADDRS = 8;
/** Largest certificate (DER) in a message; tun's own are about 400 bytes. */
export const MAX_CERT_BYTES = 4096;
/** Bytes of a relay pair token. */
export const QUIC_TOKEN_BYTES = 16;

export type Message =
  | { t: "host" }
  | { t: "hosted"; name: string; ttl_s: number; ice: IceServer[]; web: string | null }
  | { t: "join"; name: string }
  | { t: "joined"; peer: number; ice: IceServer[]; quic_token?: Uint8Array }
  | { t: "guest"; peer: number; addr: Addr; quic_token?: Uint8Array }
  | { t: "signal"; peer: number; epoch: number; data: SignalData }
  | { t: "bye"; peer: number; reason: string }
  | {
    t: "welcome";
    addr: Addr;
    stun_port: number;
    stun_alt_port: number;
    quic?: QuicListenerInfo;
  }
  | { t: "error"; message: string }
  | { t: "ping" }
  | { t: "pong" };

export type MessageType = Message["t"];

export class SignalDecodeError extends Error {
  override name = "SignalDecodeError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encodeMessage(msg: Message): Uint8Array {
  const bytes = encoder.encode({ v: VERSION, ...msg });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x) &&
    !(x instanceof Uint8Array);
}

function str(o: Obj, field: string, max = MAX_STRING): string {
  const v = Object.hasOwn(o, field) ? o[field] : undefined;
  if (typeof v !== "string") throw new SignalDecodeError(field, `${field}: expected a string`);
  if (v.length > max) throw new SignalDecodeError(field, `${field}: longer than ${max}`);
  return v;
}

function int(o: Obj, field: string, min: number, max: number): number {
  const v = Object.hasOwn(o, field) ? o[field] : undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new SignalDecodeError(field, `${field}: expected an integer in ${min}..${max}`);
  }
  return v;
}

function nullable<T>(o: Obj, field: string, read: (o: Obj, f: string) => T): T | null {
  return !Object.hasOwn(o, field) || o[field] === null ? null : read(o, field);
}

function addr(o: Obj, field: string): Addr {
  const a = Object.hasOwn(o, field) ? o[field] : undefined;
  if (!isObj(a)) throw new SignalDecodeError(field, `${field}: expected a map`);
  return { address: str(a, "address", 64), port: int(a, "port", 0, 65535) };
}

function iceServers(o: Obj): IceServer[] {
  const list = Object.hasOwn(o, "ice") ? o.ice : undefined;
  if (!Array.isArray(list) || list.length > MAX_ICE_SERVERS) {
    throw new SignalDecodeError(
      "ice",
      `ice: expected a list of at most ${MAX_ICE_SERVERS} servers`,
    );
  }
  return list.map((entry) => {
    if (!isObj(entry)) throw new SignalDecodeError("ice", "ice: expected a map per server");
    const urls = Object.hasOwn(entry, "urls") ? entry.urls : undefined;
    if (
      !Array.isArray(urls) || urls.length === 0 || urls.length > MAX_ICE_SERVERS ||
      !urls.every((u) => typeof u === "string" && u.length <= 256)
    ) {
      throw new SignalDecodeError("ice.urls", "ice.urls: expected 1-8 strings");
    }
    const server: IceServer = { urls: urls as string[] };
    const username = nullable(entry, "username", (x, f) => str(x, f, 256));
    const credential = nullable(entry, "credential", (x, f) => str(x, f, 256));
    if (username !== null) server.username = username;
    if (credential !== null) server.credential = credential;
    return server;
  });
}

const BEHAVIOURS = ["endpoint-independent", "address-dependent", "address-and-port-dependent"];

function behaviour(o: Obj, field: string): Behaviour | null {
  const v = nullable(o, field, (x, f) => str(x, f, 64));
  if (v !== null && !BEHAVIOURS.includes(v)) {
    throw new SignalDecodeError(`nat.${field}`, `nat.${field}: unknown value "${v.slice(0, 32)}"`);
  }
  return v as Behaviour | null;
}

function bytes(o: Obj, field: string, min: number, max: number): Uint8Array {
  const v = Object.hasOwn(o, field) ? o[field] : undefined;
  if (!(v instanceof Uint8Array) || v.byteLength < min || v.byteLength > max) {
    throw new SignalDecodeError(field, `${field}: expected ${min}-${max} bytes`);
  }
  return new Uint8Array(v); // a plain copy, whatever subclass the decoder made
}

function bool(o: Obj, field: string): boolean {
  const v = Object.hasOwn(o, field) ? o[field] : undefined;
  if (typeof v !== "boolean") {
    throw new SignalDecodeError(field, `${field}: expected true or false`);
  }
  return v;
}

function natInfo(d: Obj): NatInfo {
  const n = Object.hasOwn(d, "nat") ? d.nat : undefined;
  if (!isObj(n)) throw new SignalDecodeError("nat", "nat: expected a map");
  return {
    udp: bool(n, "udp"),
    mapping: behaviour(n, "mapping"),
    filtering: behaviour(n, "filtering"),
    mapping_stable: nullable(n, "mapping_stable", bool),
    public_ip: nullable(n, "public_ip", (x, f) => str(x, f, 64)),
  };
}

function signalData(o: Obj): SignalData {
  const d = Object.hasOwn(o, "data") ? o.data : undefined;
  if (!isObj(d)) throw new SignalDecodeError("data", "data: expected a map");
  const kind = str(d, "kind", 32);
  switch (kind) {
    case "offer":
    case "answer":
      return { kind, sdp: str(d, "sdp", MAX_MESSAGE_BYTES) };
    case "candidate":
      return {
        kind,
        candidate: str(d, "candidate", 1024),
        mid: nullable(d, "mid", (x, f) => str(x, f, 64)),
        mline: nullable(d, "mline", (x, f) => int(x, f, 0, 1024)),
      };
    case "end-of-candidates":
      return { kind };
    case "relay-mode":
      return { kind, reason: str(d, "reason", 256) };
    case "nat":
      return { kind, nat: natInfo(d) };
    case "pake":
      return {
        kind,
        sid: nullable(d, "sid", (x, f) => bytes(x, f, 16, 16)),
        y: bytes(d, "y", 32, 32),
      };
    case "confirm":
      return { kind, tag: bytes(d, "tag", 16, 64) };
    case "reject":
      return { kind, reason: str(d, "reason", 256) };
    case "browser":
      return { kind, webtransport: bool(d, "webtransport") };
    case "quic": {
      const addrs = Object.hasOwn(d, "addrs") ? d.addrs : undefined;
      if (
        !Array.isArray(addrs) || addrs.length === 0 || addrs.length > MAX_QUIC_ADDRS ||
        !addrs.every((a) => typeof a === "string" && a.length <= 64)
      ) {
        throw new SignalDecodeError("addrs", `addrs: expected 1-${MAX_QUIC_ADDRS} short strings`);
      }
      return { kind, cert: bytes(d, "cert", 1, MAX_CERT_BYTES), addrs: addrs as string[] };
    }
    case "webtransport": {
      const urls = Object.hasOwn(d, "urls") ? d.urls : undefined;
      if (
        !Array.isArray(urls) || urls.length > 8 ||
        !urls.every((u) => typeof u === "string" && u.length <= 256)
      ) {
        throw new SignalDecodeError("urls", "urls: expected at most 8 strings");
      }
      return {
        kind,
        urls: urls as string[],
        cert_hash: bytes(d, "cert_hash", 32, 32),
        tag: bytes(d, "tag", 32, 64),
      };
    }
    default:
      throw new SignalDecodeError("data.kind", `data.kind: unknown kind "${kind.slice(0, 32)}"`);
  }
}

const PEER_MAX = 2 ** 31 - 1;

function quicListener(raw: Obj): QuicListenerInfo | null {
  const quic = nullable(raw, "quic", (x, f) => x[f]);
  if (quic === null) return null;
  if (!isObj(quic)) throw new SignalDecodeError("quic", "quic: expected a map");
  return { port: int(quic, "port", 1, 65535), cert: bytes(quic, "cert", 1, MAX_CERT_BYTES) };
}

/** `msg` with the optional `quic_token` of `raw`, when it has one. */
function withToken<M extends { quic_token?: Uint8Array }>(msg: M, raw: Obj): M {
  const token = nullable(
    raw,
    "quic_token",
    (x, f) => bytes(x, f, QUIC_TOKEN_BYTES, QUIC_TOKEN_BYTES),
  );
  if (token !== null) msg.quic_token = token;
  return msg;
}

/**
 * Decode one message. Untrusted bytes enter here: size is checked before
 * decoding, and every field is checked after.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    throw new SignalDecodeError("message", `message larger than ${MAX_MESSAGE_BYTES} bytes`);
  }
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch {
    throw new SignalDecodeError("message", "message is not valid CBOR");
  }
  if (!isObj(raw)) throw new SignalDecodeError("message", "message is not a CBOR map");
  const v = Object.hasOwn(raw, "v") ? raw.v : undefined;
  if (v !== VERSION) {
    throw new SignalDecodeError("v", `unsupported protocol version ${String(v).slice(0, 16)}`);
  }
  const t = str(raw, "t", 32);
  switch (t) {
    case "host":
    case "ping":
    case "pong":
      return { t };
    case "hosted":
      return {
        t,
        name: str(raw, "name", 64),
        ttl_s: int(raw, "ttl_s", 0, 2 ** 31),
        ice: iceServers(raw),
        web: nullable(raw, "web", (x, f) => str(x, f, 256)),
      };
    case "join":
      return { t, name: str(raw, "name", 64) };
    case "joined":
      return withToken<Message & { t: "joined" }>(
        { t, peer: int(raw, "peer", 0, PEER_MAX), ice: iceServers(raw) },
        raw,
      );
    case "guest":
      return withToken<Message & { t: "guest" }>(
        { t, peer: int(raw, "peer", 0, PEER_MAX), addr: addr(raw, "addr") },
        raw,
      );
    case "signal":
      return {
        t,
        peer: int(raw, "peer", 0, PEER_MAX),
        epoch: int(raw, "epoch", 0, 255),
        data: signalData(raw),
      };
    case "bye":
      return { t, peer: int(raw, "peer", 0, PEER_MAX), reason: str(raw, "reason", 256) };
    case "welcome": {
      const welcome: Message & { t: "welcome" } = {
        t,
        addr: addr(raw, "addr"),
        stun_port: int(raw, "stun_port", 0, 65535),
        stun_alt_port: int(raw, "stun_alt_port", 0, 65535),
      };
      const quic = quicListener(raw);
      if (quic) welcome.quic = quic;
      return welcome;
    }
    case "error":
      return { t, message: str(raw, "message", 1024) };
    default:
      throw new SignalDecodeError("t", `unknown message type "${t}"`);
  }
}
