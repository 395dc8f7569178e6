/**
 * One allocation's state (RFC 8656 §2.2, §9, §12): its lifetime, its
 * permissions (per peer IP) and its channel bindings (per peer IP and port).
 * Pure bookkeeping over an injected clock, so every timer rule is testable
 * without sockets or waiting.
 */
import type { TransportAddress } from "../stun/mod.ts";
import {
  CHANNEL_COOLDOWN_S,
  CHANNEL_LIFETIME_S,
  DEFAULT_ALLOCATION_LIFETIME_S,
  MAX_ALLOCATION_LIFETIME_S,
  PERMISSION_LIFETIME_S,
} from "./constants.ts";

/** A relayed transport address's socket, as the allocation needs it. */
export interface RelaySocket {
  /** The bound port; the relayed address is the server's relay IP and this port. */
  readonly port: number;
  /** Send one UDP datagram to a peer; `data` is the socket's from then on. Must not throw. */
  send(data: Uint8Array, peer: TransportAddress): void;
  /**
   * Where datagrams from peers go. `data` may be a view of a buffer reused
   * for the next datagram: valid only during the call.
   * UNTRUSTED INPUT for whoever handles them.
   */
  onData: ((data: Uint8Array, peer: TransportAddress) => void) | undefined;
  /** Release the port. Safe to call twice. */
  close(): void;
}

/** A channel binding; it lingers after `expiresAt` until `coolsAt` (RFC 8656 §12). */
interface ChannelBinding {
  peer: TransportAddress;
  expiresAt: number;
  coolsAt: number;
}

/** Why a ChannelBind cannot be honoured (both are 400 Bad Request, RFC 8656 §11.2). */
export type BindConflict = "channel-in-use" | "peer-in-use";

/** Seconds granted for a requested lifetime (RFC 8656 §7.2, §7.3); 0 stays 0 (delete). */
export function grantedLifetime(requested: number | undefined): number {
  if (requested === undefined) return DEFAULT_ALLOCATION_LIFETIME_S;
  if (requested === 0) return 0;
  return Math.max(DEFAULT_ALLOCATION_LIFETIME_S, Math.min(requested, MAX_ALLOCATION_LIFETIME_S));
}

/** Map key for a peer transport address. */
export function peerKey(peer: TransportAddress): string {
  return `${peer.address}|${peer.port}`;
}

/** What an allocation needs when it is made. */
export interface AllocationInit {
  /** The username that authenticated the Allocate; later requests must use it (RFC 8656 §5). */
  username: string;
  relay: RelaySocket;
  /** Address family of the relayed address; peers must share it (RFC 8656 §9.1). */
  family: "IPv4" | "IPv6";
  /** Granted lifetime in seconds. */
  lifetime: number;
  now: number;
  /** Most distinct peer IPs with a permission at once. */
  maxPermissions: number;
}

/** An allocation. Times are milliseconds on the caller's clock. */
export class Allocation {
  readonly username: string;
  readonly relay: RelaySocket;
  readonly family: "IPv4" | "IPv6";
  expiresAt: number;
  readonly #maxPermissions: number;
  /** Peer IP -> permission expiry. */
  readonly #permissions = new Map<string, number>();
  readonly #channels = new Map<number, ChannelBinding>();
  /** peerKey -> channel number, for every binding in #channels. */
  readonly #channelOfPeer = new Map<string, number>();

  constructor(init: AllocationInit) {
    this.username = init.username;
    this.relay = init.relay;
    this.family = init.family;
    this.expiresAt = init.now + init.lifetime * 1000;
    this.#maxPermissions = init.maxPermissions;
  }

  /** Seconds left, rounded down, never negative. */
  remaining(now: number): number {
    return Math.max(0, Math.floor((this.expiresAt - now) / 1000));
  }

  expired(now: number): boolean {
    return now >= this.expiresAt;
  }

  /** Restart the time-to-expiry timer with `lifetime` seconds (RFC 8656 §7.3). */
  refresh(lifetime: number, now: number): void {
    this.expiresAt = now + lifetime * 1000;
  }

  /** True when a live permission exists for the peer's IP; ports do not matter (RFC 8656 §9). */
  permits(ip: string, now: number): boolean {
    const expiry = this.#permissions.get(ip);
    return expiry !== undefined && now < expiry;
  }

  /**
   * Install or refresh permissions for all `ips` for 300 s, or for none of
   * them when that would exceed the permission limit (RFC 8656 §9.2 makes a
   * CreatePermission all-or-nothing). Returns false in that case.
   */
  permit(ips: readonly string[], now: number): boolean {
    const fresh = new Set(ips.filter((ip) => !this.permits(ip, now)));
    let live = 0;
    for (const [ip, expiry] of this.#permissions) if (now < expiry && !fresh.has(ip)) live++;
    if (live + fresh.size > this.#maxPermissions) return false;
    for (const ip of ips) this.#permissions.set(ip, now + PERMISSION_LIFETIME_S * 1000);
    return true;
  }

  /** Number of peer IPs with a live permission. */
  permissionCount(now: number): number {
    let n = 0;
    for (const expiry of this.#permissions.values()) if (now < expiry) n++;
    return n;
  }

  /**
   * Why `channel` cannot be bound to `peer` now, or undefined if it can. A
   * channel stays tied to its peer, and a peer to its channel, while the
   * binding lives and for 5 minutes after it expires (RFC 8656 §12);
   * binding the same pair again refreshes it (RFC 8656 §11.2).
   */
  bindConflict(channel: number, peer: TransportAddress, now: number): BindConflict | undefined {
    const key = peerKey(peer);
    const existing = this.#channels.get(channel);
    if (existing && now < existing.coolsAt && peerKey(existing.peer) !== key) {
      return "channel-in-use";
    }
    const other = this.#channelOfPeer.get(key);
    if (other !== undefined && other !== channel) {
      const binding = this.#channels.get(other);
      if (binding && now < binding.coolsAt) return "peer-in-use";
    }
    return undefined;
  }

  /**
   * Bind `channel` to `peer` for 10 minutes, or refresh that binding. Returns
   * the conflict and changes nothing when {@link bindConflict} reports one.
   */
  bindChannel(channel: number, peer: TransportAddress, now: number): BindConflict | undefined {
    const conflict = this.bindConflict(channel, peer, now);
    if (conflict) return conflict;
    const key = peerKey(peer);
    // Whatever is left of a cooled-down binding of this number or this peer goes.
    const existing = this.#channels.get(channel);
    if (existing && peerKey(existing.peer) !== key) {
      this.#channelOfPeer.delete(peerKey(existing.peer));
    }
    const other = this.#channelOfPeer.get(key);
    if (other !== undefined && other !== channel) this.#channels.delete(other);
    const expiresAt = now + CHANNEL_LIFETIME_S * 1000;
    this.#channels.set(channel, {
      peer,
      expiresAt,
      coolsAt: expiresAt + CHANNEL_COOLDOWN_S * 1000,
    });
    this.#channelOfPeer.set(key, channel);
    return undefined;
  }

  /** The peer a live channel is bound to. */
  peerOfChannel(channel: number, now: number): TransportAddress | undefined {
    const binding = this.#channels.get(channel);
    return binding && now < binding.expiresAt ? binding.peer : undefined;
  }

  /** The live channel bound to `peer`, if any. */
  channelOfPeer(peer: TransportAddress, now: number): number | undefined {
    const channel = this.#channelOfPeer.get(peerKey(peer));
    if (channel === undefined) return undefined;
    const binding = this.#channels.get(channel);
    return binding && now < binding.expiresAt ? channel : undefined;
  }

  /** Forget expired permissions and channels whose cool-down is over. */
  sweep(now: number): void {
    for (const [ip, expiry] of this.#permissions) if (now >= expiry) this.#permissions.delete(ip);
    for (const [channel, binding] of this.#channels) {
      if (now >= binding.coolsAt) {
        this.#channels.delete(channel);
        this.#channelOfPeer.delete(peerKey(binding.peer));
      }
    }
  }
}
