/**
 * The TURN server's protocol logic (RFC 8656), with no sockets of its own:
 * `handle(bytes, client)` takes one STUN message or ChannelData message from
 * a client and returns the response to send back, if any. Relayed
 * transport addresses come from an injected {@link RelayOpener}, and data
 * from peers goes to `client.send`, so the whole state machine runs in tests
 * against fakes, and server.ts only moves bytes.
 *
 * Every client is keyed by its 5-tuple (RFC 8656 §2.2): for UDP the source
 * address and port at the one server socket; for TCP the connection itself.
 */
import {
  answerBinding,
  type DecodedStunMessage,
  decodeMessage,
  ErrorCodes,
  type ErrorCodeValue,
  EvenPort,
  getAttribute,
  hasFingerprint,
  isStunMessage,
  Lifetime,
  Nonce,
  Realm,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
  setAttribute,
  Software,
  StunClass,
  StunDecodeError,
  StunMethod,
  TRANSPORT_UDP,
  type TransportAddress,
  UnknownAttributes,
  verifyFingerprint,
  XorMappedAddress,
  XorRelayedAddress,
} from "../stun/mod.ts";
import { Allocation, grantedLifetime, type RelaySocket } from "./allocation.ts";
import { LongTermAuth } from "./auth.ts";
import { parseRestUsername } from "./credentials.ts";
import { isForbiddenPeer, sameAddress } from "./peer_policy.ts";
import { isChannelData } from "./channel_data.ts";
import {
  LEGACY_MAX_CHANNEL,
  MAX_CHANNEL,
  RESERVATION_LIFETIME_S,
  TurnErrorCodes,
  TurnMethod,
} from "./constants.ts";
import { NonceIssuer } from "./nonce.ts";
import { channelDataTarget, sendIndicationTarget, toClient } from "./relay_data.ts";
import { errorReply, reply, type ReplyOptions } from "./reply.ts";
import { channelBind, createPermission, unknownRequired } from "./requests.ts";

/** One client 5-tuple as the server sees it. */
export interface TurnClient {
  readonly transport: "udp" | "tcp";
  /** The client's address and port, as XOR-MAPPED-ADDRESS reports it. */
  readonly address: TransportAddress;
  /** Names the 5-tuple: equal keys are the same client. */
  readonly key: string;
  /** Send a STUN message or ChannelData to the client. Must not throw. */
  send(bytes: Uint8Array): void;
}

/** What an Allocate asks of the relayed address (RFC 8656 §7.2). */
export interface RelayRequest {
  family: "IPv4" | "IPv6";
  /** EVEN-PORT: the port must be even. */
  evenPort: boolean;
  /** EVEN-PORT with R set: also hold port + 1 for a later Allocate. */
  reserveNext: boolean;
}

/** Sockets an opener made: the relay, and with `reserveNext` the one on port + 1. */
export interface OpenedRelay {
  relay: RelaySocket;
  reserved?: RelaySocket;
}

/** Binds relayed transport addresses. Rejects when it cannot (answered with 508). */
export type RelayOpener = (request: RelayRequest) => Promise<OpenedRelay>;

/** Options for {@link TurnHandler}, validated at construction. */
export interface TurnHandlerOptions {
  /** REALM of the long-term credentials (RFC 8489 §9.2). */
  realm: string;
  /** Shared secret for TURN REST API credentials (credentials.ts). */
  secret: string;
  /** IP advertised in XOR-RELAYED-ADDRESS; its family is the family of every allocation. */
  relayAddress: string;
  /**
   * Whether a peer may be given a permission or channel, or be sent a Send
   * indication's data; refused peers get 403 Forbidden (RFC 8656 §9.2) and
   * their Send indications are dropped. Replaces the default policy, which
   * refuses what peer_policy.ts's {@link isForbiddenPeer} refuses (with
   * `allowPrivatePeers`), except this server's own relayed transport
   * addresses (`relayAddress` at the port of a live allocation): that is
   * how two clients both in relay mode reach each other, whatever kind of
   * address `relayAddress` is, without opening the relay host's other ports.
   */
  allowPeer?: (peer: TransportAddress) => boolean;
  /**
   * Let the default policy relay to loopback, private, link-local and other
   * non-global addresses (the "private" class of peer_policy.ts). For
   * single-LAN setups and labs. Unspecified, multicast and broadcast peers
   * stay refused. Default false.
   */
  allowPrivatePeers?: boolean;
  /** Most allocations (and port reservations) at once; beyond it 508. Default 1000. */
  maxAllocations?: number;
  /**
   * Most allocations at once per user, beyond which an Allocate gets 486
   * Allocation Quota Reached (RFC 8656 §7.2). A user is the id part of a
   * TURN REST username ("<expiry>:<id>", credentials.ts), so credentials
   * re-minted for the same holder share one quota; a username without an id
   * is its own user. A number applies to everyone; a function gives each id
   * its quota (read at each Allocate). Default 10 (a WebRTC peer connection
   * in relay mode takes one per local interface and TURN transport, 2-6).
   */
  maxAllocationsPerUser?: number | ((id: string) => number);
  /** Most peer IPs with permissions per allocation; beyond it 508. Default 64. */
  maxPermissions?: number;
  /**
   * Also accept channel numbers 0x5000-0x7FFF in ChannelBind, as RFC 5766
   * did. Default false: only RFC 8656's 0x4000-0x4FFF; the others get 400.
   * coturn's turnutils_uclient before 4.16 (Debian: 4.6.1) picks from the old range.
   */
  legacyChannelNumbers?: boolean;
  /** SOFTWARE attribute on responses. Default: none. */
  software?: string;
  /** Seconds a NONCE stays valid before 438 Stale Nonce. Default 600. */
  nonceTtlSeconds?: number;
  /** Clock in milliseconds. Default Date.now. */
  now?: () => number;
  /** Called with exceptions that are bugs, not bad input. Default: ignored. */
  onInternalError?: (err: unknown) => void;
}

/** An allocation and the client it belongs to. */
interface Entry {
  allocation: Allocation;
  client: TurnClient;
  /** Whose quota it counts against (see TurnHandlerOptions.maxAllocationsPerUser). */
  user: string;
  /** The Allocate that made it, to answer retransmissions (RFC 8656 §7.2). */
  transactionId: string;
  response: Uint8Array;
}

const TURN_REQUESTS: ReadonlySet<number> = new Set([
  TurnMethod.Allocate,
  TurnMethod.Refresh,
  TurnMethod.CreatePermission,
  TurnMethod.ChannelBind,
]);

/** The TURN state machine. See the file comment. */
export class TurnHandler {
  readonly #auth: LongTermAuth;
  readonly #openRelay: RelayOpener;
  readonly #relayAddress: string;
  readonly #family: "IPv4" | "IPv6";
  readonly #allowPeer: (peer: TransportAddress) => boolean;
  readonly #maxAllocations: number;
  readonly #maxPerUser: (id: string) => number;
  readonly #maxPermissions: number;
  readonly #maxChannel: number;
  readonly #software: string | undefined;
  readonly #now: () => number;
  readonly #onInternalError: (err: unknown) => void;
  readonly #entries = new Map<string, Entry>();
  /** Client keys with an Allocate waiting for its relay socket, and their users. */
  readonly #pending = new Map<string, string>();
  /** Live allocations by their relayed address's port (see TurnHandlerOptions.allowPeer, #toPeer). */
  readonly #byRelayPort = new Map<number, Entry>();
  readonly #reservations = new Map<bigint, { socket: RelaySocket; expiresAt: number }>();
  #closed = false;

  constructor(options: TurnHandlerOptions, openRelay: RelayOpener) {
    const {
      realm,
      secret,
      relayAddress,
      allowPeer,
      allowPrivatePeers = false,
      maxAllocations = 1000,
      maxAllocationsPerUser = 10,
      maxPermissions = 64,
      legacyChannelNumbers = false,
      software,
      nonceTtlSeconds = 600,
      now = Date.now,
      onInternalError = () => {},
    } = options;
    const ctx = { transactionId: new Uint8Array(12) };
    Realm.encode(realm, ctx); // throws for a realm that cannot go on the wire
    if (software !== undefined) Software.encode(software, ctx);
    if (secret.length === 0) throw new RangeError("the TURN secret must not be empty");
    if (!Number.isInteger(maxAllocations) || maxAllocations < 1) {
      throw new RangeError(`maxAllocations ${maxAllocations} is not a positive integer`);
    }
    if (
      typeof maxAllocationsPerUser === "number" &&
      (!Number.isInteger(maxAllocationsPerUser) || maxAllocationsPerUser < 1)
    ) {
      throw new RangeError(
        `maxAllocationsPerUser ${maxAllocationsPerUser} is not a positive integer`,
      );
    }
    if (!Number.isInteger(maxPermissions) || maxPermissions < 1) {
      throw new RangeError(`maxPermissions ${maxPermissions} is not a positive integer`);
    }
    // XorRelayedAddress.encode checks the address; the family follows from its text.
    this.#family = relayAddress.includes(":") ? "IPv6" : "IPv4";
    XorRelayedAddress.encode({ family: this.#family, address: relayAddress, port: 0 }, ctx);
    this.#auth = new LongTermAuth(realm, secret, new NonceIssuer({ ttlSeconds: nonceTtlSeconds }));
    this.#openRelay = openRelay;
    this.#relayAddress = relayAddress;
    this.#allowPeer = allowPeer ??
      ((peer) =>
        (sameAddress(peer.address, relayAddress) && this.#byRelayPort.has(peer.port)) ||
        !isForbiddenPeer(peer.address, { allowPrivatePeers }));
    this.#maxAllocations = maxAllocations;
    this.#maxPerUser = typeof maxAllocationsPerUser === "number"
      ? () => maxAllocationsPerUser
      : maxAllocationsPerUser;
    this.#maxPermissions = maxPermissions;
    this.#maxChannel = legacyChannelNumbers ? LEGACY_MAX_CHANNEL : MAX_CHANNEL;
    this.#software = software;
    this.#now = now;
    this.#onInternalError = onInternalError;
  }

  /** Live allocations. */
  get allocationCount(): number {
    return this.#entries.size;
  }

  /** True when the client 5-tuple `key` holds an allocation. */
  hasAllocation(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * Process one message from a client and resolve with the response for it,
   * or undefined when nothing is to be sent (indications, ChannelData, and
   * anything malformed, which is dropped as RFC 8489 §6.3 and RFC 8656 §12.5
   * ask). Never rejects.
   *
   * The caller may reuse `bytes` as soon as this returns (before the promise
   * settles): what is kept or sent is copied first.
   *
   * UNTRUSTED INPUT: `bytes` is a datagram or stream frame from anyone.
   */
  async handle(bytes: Uint8Array, client: TurnClient): Promise<Uint8Array | undefined> {
    if (isChannelData(bytes)) {
      this.relayChannelData(bytes, client.key);
      return undefined;
    }
    if (this.#closed) return undefined;
    try {
      if (!isStunMessage(bytes)) return undefined;
      let msg: DecodedStunMessage;
      try {
        // A copy: decoded attributes are views, and a request outlives an await.
        msg = decodeMessage(bytes.slice());
      } catch (err) {
        if (err instanceof StunDecodeError) return undefined;
        throw err;
      }
      if (hasFingerprint(msg) && !verifyFingerprint(msg)) return undefined;
      if (msg.class === StunClass.Indication) {
        // RFC 8656 §11.2: a Send indication's DATA goes to its XOR-PEER-ADDRESS.
        const entry = msg.method === TurnMethod.Send && this.#live(client.key, this.#now());
        const out = entry && sendIndicationTarget(msg, entry.allocation, this.#now());
        // The permission was checked against the policy, but not this port.
        if (out && this.#allowPeer(out.peer)) this.#toPeer(entry, out.data, out.peer);
        return undefined;
      }
      if (msg.class !== StunClass.Request) return undefined;
      if (msg.method === StunMethod.Binding) {
        // RFC 8656 §4: a TURN server is a STUN server too; Binding needs no credentials.
        return answerBinding(bytes, client.address, { software: this.#software });
      }
      return await this.#request(msg, client);
    } catch (err) {
      this.#onInternalError(err);
      return undefined;
    }
  }

  /**
   * RFC 8656 §12.5: ChannelData from the client `key` on a bound channel goes
   * to its peer; anything else is dropped. The synchronous part of
   * {@link handle}, for server.ts to call on each datagram whose first bits
   * are 01 without making a TurnClient or a promise for it. The caller may
   * reuse `bytes` as soon as this returns.
   *
   * UNTRUSTED INPUT: `bytes` is a datagram or stream frame from anyone.
   */
  relayChannelData(bytes: Uint8Array, key: string): void {
    if (this.#closed) return;
    try {
      const now = this.#now();
      const entry = this.#live(key, now);
      const out = entry && channelDataTarget(bytes, entry.allocation, now);
      if (out) this.#toPeer(entry!, out.data, out.peer);
    } catch (err) {
      this.#onInternalError(err);
    }
  }

  /** The client's transport is gone (a TCP connection closed): free its allocation. */
  disconnect(key: string): void {
    this.#pending.delete(key);
    const entry = this.#entries.get(key);
    if (entry) this.#free(key, entry);
  }

  /** Expire allocations, permissions, channels and reservations. Call about once a second. */
  sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      if (entry.allocation.expired(now)) this.#free(key, entry);
      else entry.allocation.sweep(now);
    }
    for (const [token, reservation] of this.#reservations) {
      if (now >= reservation.expiresAt) {
        reservation.socket.close();
        this.#reservations.delete(token);
      }
    }
  }

  /** Free everything; later calls to `handle` do nothing. */
  close(): void {
    this.#closed = true;
    for (const [key, entry] of this.#entries) this.#free(key, entry);
    for (const { socket } of this.#reservations.values()) socket.close();
    this.#reservations.clear();
    this.#pending.clear();
  }

  // --- requests -------------------------------------------------------------

  async #request(msg: DecodedStunMessage, client: TurnClient): Promise<Uint8Array | undefined> {
    const unsigned: ReplyOptions = { software: this.#software };
    if (!TURN_REQUESTS.has(msg.method)) return errorReply(msg, unsigned, ErrorCodes.BadRequest);
    const now = this.#now();
    const auth = this.#auth.check(msg, client.address.address, now);
    if (!auth.ok) {
      if (!auth.challenge) return errorReply(msg, unsigned, auth.error);
      const nonce = this.#auth.nonceFor(client.address.address, now);
      return errorReply(msg, unsigned, auth.error, (r) => {
        setAttribute(r, Realm, this.#auth.realm);
        setAttribute(r, Nonce, nonce);
      });
    }
    // From here on every response is signed with the requester's key (RFC 8489 §9.2.4).
    const signed: ReplyOptions = { software: this.#software, key: auth.key };
    const unknown = unknownRequired(msg);
    if (unknown.length > 0) {
      return errorReply(msg, signed, ErrorCodes.UnknownAttribute, (r) => {
        setAttribute(r, UnknownAttributes, unknown);
      });
    }
    if (msg.method === TurnMethod.Allocate) {
      return await this.#allocate(msg, client, auth.username, signed);
    }

    const entry = this.#live(client.key, now);
    if (!entry) return errorReply(msg, signed, TurnErrorCodes.AllocationMismatch);
    // RFC 8656 §5: an allocation answers only to the username that made it.
    if (entry.allocation.username !== auth.username) {
      return errorReply(msg, signed, TurnErrorCodes.WrongCredentials);
    }
    let error: ErrorCodeValue | undefined;
    try {
      switch (msg.method) {
        case TurnMethod.Refresh:
          return this.#refresh(msg, client.key, entry, signed, now);
        case TurnMethod.CreatePermission:
          error = createPermission(msg, entry.allocation, now, this.#allowPeer);
          break;
        default:
          error = channelBind(msg, entry.allocation, now, this.#allowPeer, this.#maxChannel);
      }
    } catch (err) {
      if (!(err instanceof StunDecodeError)) throw err;
      error = err.field === "REQUESTED-ADDRESS-FAMILY.family"
        ? TurnErrorCodes.PeerAddressFamilyMismatch
        : ErrorCodes.BadRequest;
    }
    return error ? errorReply(msg, signed, error) : reply(msg, signed);
  }

  /** RFC 8656 §7.2, steps numbered as there. */
  async #allocate(
    msg: DecodedStunMessage,
    client: TurnClient,
    username: string,
    signed: ReplyOptions,
  ): Promise<Uint8Array | undefined> {
    const now = this.#now();
    const fail = (error: ErrorCodeValue) => errorReply(msg, signed, error);
    // 2. One allocation per 5-tuple; a retransmitted Allocate gets the same answer.
    const existing = this.#live(client.key, now);
    if (existing) {
      return existing.transactionId === hex(msg.transactionId)
        ? existing.response
        : fail(TurnErrorCodes.AllocationMismatch);
    }
    if (this.#pending.has(client.key)) return undefined; // a retransmission; the first will answer
    const user = quotaUser(username);

    let transport, token, evenPort, family, lifetime;
    try {
      transport = getAttribute(msg, RequestedTransport);
      token = getAttribute(msg, ReservationToken);
      evenPort = getAttribute(msg, EvenPort);
      family = getAttribute(msg, RequestedAddressFamily);
      lifetime = getAttribute(msg, Lifetime);
    } catch (err) {
      if (!(err instanceof StunDecodeError)) throw err;
      return fail(
        err.field === "REQUESTED-ADDRESS-FAMILY.family"
          ? TurnErrorCodes.AddressFamilyNotSupported
          : ErrorCodes.BadRequest,
      );
    }
    // 3. REQUESTED-TRANSPORT must be there, and must be UDP.
    if (transport === undefined) return fail(ErrorCodes.BadRequest);
    if (transport !== TRANSPORT_UDP) return fail(TurnErrorCodes.UnsupportedTransportProtocol);
    // (4. DONT-FRAGMENT was refused with 420 as an unknown attribute.)
    // 5. A RESERVATION-TOKEN excludes EVEN-PORT and REQUESTED-ADDRESS-FAMILY (RFC 8656 §7.2, §18.8).
    if (token !== undefined && (evenPort !== undefined || family !== undefined)) {
      return fail(ErrorCodes.BadRequest);
    }
    // The relayed address has the family of relayAddress; no other is offered.
    if (family !== undefined && family !== this.#family) {
      return fail(TurnErrorCodes.AddressFamilyNotSupported);
    }
    // 7. The user's quota (486), counting allocations being made.
    if (this.#allocationsOf(user) >= this.#quota(user)) {
      return fail(TurnErrorCodes.AllocationQuotaReached);
    }
    // Capacity (508), counting allocations being made and ports held for reservations.
    if (
      token === undefined &&
      this.#entries.size + this.#pending.size + this.#reservations.size >= this.#maxAllocations
    ) {
      return fail(TurnErrorCodes.InsufficientCapacity);
    }

    let opened: OpenedRelay;
    if (token !== undefined) {
      const reservation = this.#reservations.get(token);
      this.#reservations.delete(token);
      if (!reservation || now >= reservation.expiresAt) {
        reservation?.socket.close();
        return fail(TurnErrorCodes.InsufficientCapacity);
      }
      opened = { relay: reservation.socket };
    } else {
      // 6. EVEN-PORT: the opener finds an even port, and port + 1 too when R is set.
      this.#pending.set(client.key, user);
      try {
        opened = await this.#openRelay({
          family: this.#family,
          evenPort: evenPort !== undefined,
          reserveNext: evenPort?.reserveNext ?? false,
        });
      } catch {
        this.#pending.delete(client.key);
        return fail(TurnErrorCodes.InsufficientCapacity);
      }
      // The client went away, or the server closed, while the socket was being bound.
      if (!this.#pending.delete(client.key) || this.#closed) {
        opened.relay.close();
        opened.reserved?.close();
        return undefined;
      }
    }

    const at = this.#now();
    const granted = grantedLifetime(lifetime === 0 ? undefined : lifetime);
    const allocation = new Allocation({
      username,
      relay: opened.relay,
      family: this.#family,
      lifetime: granted,
      now: at,
      maxPermissions: this.#maxPermissions,
    });
    let reservationToken: bigint | undefined;
    if (opened.reserved) {
      reservationToken = this.#newToken();
      this.#reservations.set(reservationToken, {
        socket: opened.reserved,
        expiresAt: at + RESERVATION_LIFETIME_S * 1000,
      });
    }
    const response = reply(msg, signed, (r) => {
      setAttribute(r, XorRelayedAddress, {
        family: this.#family,
        address: this.#relayAddress,
        port: opened.relay.port,
      });
      setAttribute(r, Lifetime, granted);
      setAttribute(r, XorMappedAddress, client.address);
      if (reservationToken !== undefined) setAttribute(r, ReservationToken, reservationToken);
    });
    const entry: Entry = {
      allocation,
      client,
      user,
      transactionId: hex(msg.transactionId),
      response,
    };
    opened.relay.onData = (data, peer) => this.#fromPeer(entry, data, peer);
    this.#entries.set(client.key, entry);
    this.#byRelayPort.set(opened.relay.port, entry);
    return response;
  }

  /** RFC 8656 §7.3. LIFETIME 0 deletes the allocation. */
  #refresh(
    msg: DecodedStunMessage,
    clientKey: string,
    entry: Entry,
    signed: ReplyOptions,
    now: number,
  ): Uint8Array {
    const family = getAttribute(msg, RequestedAddressFamily);
    if (family !== undefined && family !== entry.allocation.family) {
      return errorReply(msg, signed, TurnErrorCodes.PeerAddressFamilyMismatch);
    }
    const granted = grantedLifetime(getAttribute(msg, Lifetime));
    if (granted === 0) this.#free(clientKey, entry);
    else entry.allocation.refresh(granted, now);
    return reply(msg, signed, (r) => setAttribute(r, Lifetime, granted));
  }

  /**
   * Send `data` (which the caller may reuse once this returns) from the
   * allocation's relayed address to `peer`. A peer that is another live
   * allocation's relayed address here gets it handed over directly, as if it
   * had come in at that socket from this relayed address: that is what two
   * clients both in relay mode exchange, and the kernel would only carry it
   * from one of our sockets to another at the cost of a send, a receive and a
   * dropped datagram whenever the receiving socket's buffer is full (and
   * behind 1:1 NAT the relayAddress may not hairpin back at all).
   */
  #toPeer(entry: Entry, data: Uint8Array, peer: TransportAddress): void {
    const local = this.#byRelayPort.get(peer.port);
    if (
      local &&
      (peer.address === this.#relayAddress || sameAddress(peer.address, this.#relayAddress))
    ) {
      const from = {
        family: this.#family,
        address: this.#relayAddress,
        port: entry.allocation.relay.port,
      };
      this.#fromPeer(local, data, from);
      return;
    }
    // A copy: the send may complete after `data` has been overwritten.
    entry.allocation.relay.send(data.slice(), peer);
  }

  /** A datagram reached an allocation's relayed address (see relay_data.ts's toClient). */
  #fromPeer(entry: Entry, data: Uint8Array, peer: TransportAddress): void {
    try {
      if (this.#closed || this.#entries.get(entry.client.key) !== entry) return;
      const out = toClient(entry.allocation, entry.client.transport, data, peer, this.#now());
      if (out) entry.client.send(out);
    } catch (err) {
      this.#onInternalError(err);
    }
  }

  // --- helpers --------------------------------------------------------------

  /** The client's allocation if it has one that has not expired; an expired one is freed. */
  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.allocation.expired(now)) {
      this.#free(key, entry);
      return undefined;
    }
    return entry;
  }

  #free(key: string, entry: Entry): void {
    entry.allocation.relay.onData = undefined;
    entry.allocation.relay.close();
    if (this.#entries.get(key) === entry) {
      this.#entries.delete(key);
      this.#byRelayPort.delete(entry.allocation.relay.port);
    }
  }

  /** Live allocations and Allocates in progress of `user`. */
  #allocationsOf(user: string): number {
    let n = 0;
    for (const entry of this.#entries.values()) if (entry.user === user) n++;
    for (const pending of this.#pending.values()) if (pending === user) n++;
    return n;
  }

  /** The quota for `user`; a quota function that throws or answers nonsense allows one. */
  #quota(user: string): number {
    let quota: number;
    try {
      quota = this.#maxPerUser(user);
    } catch (err) {
      this.#onInternalError(err);
      return 1;
    }
    return Number.isFinite(quota) && quota >= 1 ? Math.floor(quota) : 1;
  }

  #newToken(): bigint {
    for (;;) {
      const bytes = crypto.getRandomValues(new Uint8Array(8));
      const token = new DataView(bytes.buffer).getBigUint64(0);
      if (token !== 0n && !this.#reservations.has(token)) return token;
    }
  }
}

/** The quota key of a username: the id of a TURN REST username, else the whole name. */
function quotaUser(username: string): string {
  const id = parseRestUsername(username)?.id;
  return id ? id : username;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
