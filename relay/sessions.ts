/**
 * Rendezvous state of one relay, in memory: which host owns which session
 * name, and which guests have joined it. No I/O here: the server feeds it
 * connections and messages, and it answers with what to send to whom.
 */
import { isValidName, mintName } from "../lib/code/mod.ts";
import { type Addr, HOST_LEFT, type IceServer, type Message } from "../lib/signal/mod.ts";
import { RelayLimits } from "./limits.ts";

/** One WebSocket connection as the session table sees it. */
export interface Conn {
  readonly id: number;
  readonly addr: Addr;
  /** ICE servers (with fresh TURN credentials) for this peer, once it is in a session. */
  ice(): IceServer[];
  /** The relay's https origin for browser guests, as this peer reached the relay; or null. */
  web: string | null;
  send(msg: Message): void;
  /** Send `error` with the reason, then close the connection. */
  close(reason: string): void;
  role: { kind: "none" } | { kind: "host"; session: Session } | {
    kind: "guest";
    session: Session;
    peer: number;
  };
}

export interface Session {
  name: string;
  host: Conn;
  guests: Map<number, Conn>;
  /** Guest id -> its pair at the QUIC listener, when the relay has one. */
  pairs: Map<number, string>;
  nextPeer: number;
  createdAt: number;
  everJoined: boolean;
  expiry: ReturnType<typeof setTimeout> | undefined;
}

export interface SessionTableOptions {
  /** A code no guest has used expires after this long. Default 24 h. */
  codeTtlMs?: number;
  /** Guests at once in one session. Default 64. */
  maxGuestsPerSession?: number;
  /** Join attempts and sessions per client address, joins per code. Default: RelayLimits' defaults. */
  limits?: RelayLimits;
  /**
   * The QUIC listener's pairs (relay/quic.ts): one is issued per guest, its
   * tokens go to the guest (`joined`) and the host (`guest`), and it is revoked
   * when either leaves. Default: none (no tokens are handed out).
   */
  quicPairs?: QuicPairs;
}

/** What the session table needs of the QUIC listener. */
export interface QuicPairs {
  issuePair(): { id: string; host: Uint8Array; guest: Uint8Array };
  revokePair(id: string): void;
}

export class SessionTable {
  readonly #sessions = new Map<string, Session>();
  readonly #codeTtlMs: number;
  readonly #maxGuests: number;
  readonly #limits: RelayLimits;
  readonly #pairs: QuicPairs | undefined;

  constructor(options: SessionTableOptions = {}) {
    this.#codeTtlMs = options.codeTtlMs ?? 24 * 3600_000;
    this.#maxGuests = options.maxGuestsPerSession ?? 64;
    this.#limits = options.limits ?? new RelayLimits();
    this.#pairs = options.quicPairs;
    if (!(this.#codeTtlMs > 0)) throw new Error("codeTtlMs must be positive");
    if (!(this.#maxGuests >= 1)) throw new Error("maxGuestsPerSession must be at least 1");
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Whether session `name` is live (for LAN discovery answers). */
  has(name: string): boolean {
    return this.#sessions.has(name);
  }

  /** Guests in the session `conn` hosts, or undefined when it hosts none. */
  guestsOf(conn: Conn): number | undefined {
    return conn.role.kind === "host" ? conn.role.session.guests.size : undefined;
  }

  /** Handle one decoded message from `conn`. */
  handle(conn: Conn, msg: Message): void {
    switch (msg.t) {
      case "ping":
        return conn.send({ t: "pong" });
      case "pong":
        return;
      case "host":
        return this.#host(conn);
      case "join":
        return this.#join(conn, msg.name);
      case "signal":
        return this.#signal(conn, msg.peer, msg);
      default:
        return conn.close(`unexpected message "${msg.t}" from a peer`);
    }
  }

  /** The connection is gone: tidy up and tell the other side. */
  left(conn: Conn): void {
    const role = conn.role;
    conn.role = { kind: "none" };
    if (role.kind === "host") {
      const s = role.session;
      this.#end(s);
      for (const g of s.guests.values()) {
        g.role = { kind: "none" };
        g.close(HOST_LEFT);
      }
      s.guests.clear();
      for (const id of s.pairs.values()) this.#pairs?.revokePair(id);
      s.pairs.clear();
    } else if (role.kind === "guest") {
      const s = role.session;
      if (s.guests.get(role.peer) === conn) {
        s.guests.delete(role.peer);
        const pair = s.pairs.get(role.peer);
        if (pair) this.#pairs?.revokePair(pair);
        s.pairs.delete(role.peer);
        s.host.send({ t: "bye", peer: role.peer, reason: "guest left" });
      }
    }
  }

  /** Forget session `s` and release what it held. */
  #end(s: Session): void {
    clearTimeout(s.expiry);
    if (this.#sessions.get(s.name) !== s) return; // already ended
    this.#sessions.delete(s.name);
    this.#limits.releaseSession(s.host.addr.address);
    this.#limits.forgetCode(s.name);
  }

  #host(conn: Conn) {
    if (conn.role.kind !== "none") return conn.close("already registered");
    let name = mintName();
    for (let i = 0; this.#sessions.has(name); i++) {
      if (i > 100) return conn.close("relay is full: no free session names");
      name = mintName();
    }
    const held = this.#limits.holdSession(conn.addr.address);
    if (!held.ok) return conn.close(held.reason);
    const session: Session = {
      name,
      host: conn,
      guests: new Map(),
      pairs: new Map(),
      nextPeer: 1,
      createdAt: Date.now(),
      everJoined: false,
      expiry: undefined,
    };
    session.expiry = setTimeout(() => {
      if (!session.everJoined && this.#sessions.get(name) === session) {
        conn.close("join code expired unused");
      }
    }, this.#codeTtlMs);
    this.#sessions.set(name, session);
    conn.role = { kind: "host", session };
    conn.send({
      t: "hosted",
      name,
      ttl_s: Math.round(this.#codeTtlMs / 1000),
      ice: conn.ice(),
      web: conn.web,
    });
  }

  #join(conn: Conn, name: string) {
    if (conn.role.kind !== "none") return conn.close("already registered");
    // Every attempt counts against the address, so scanning for codes is slow.
    const fromIp = this.#limits.joinFrom(conn.addr.address);
    if (!fromIp.ok) return conn.close(fromIp.reason);
    const upper = name.toUpperCase();
    if (!isValidName(upper)) return conn.close(`"${name.slice(0, 16)}" is not a session name`);
    const session = this.#sessions.get(upper);
    if (!session) return conn.close("no such join code (expired, or the host has left)");
    const atCode = this.#limits.joinCode(upper);
    if (!atCode.ok) return conn.close(atCode.reason);
    if (session.guests.size >= this.#maxGuests) {
      return conn.close(`session is full (${this.#maxGuests} guests)`);
    }
    const peer = session.nextPeer++;
    session.everJoined = true;
    clearTimeout(session.expiry);
    session.guests.set(peer, conn);
    conn.role = { kind: "guest", session, peer };
    const pair = this.#pairs?.issuePair();
    if (pair) session.pairs.set(peer, pair.id);
    conn.send({ t: "joined", peer, ice: conn.ice(), ...(pair ? { quic_token: pair.guest } : {}) });
    session.host.send({
      t: "guest",
      peer,
      addr: conn.addr,
      ...(pair ? { quic_token: pair.host } : {}),
    });
  }

  #signal(conn: Conn, peer: number, msg: Extract<Message, { t: "signal" }>) {
    const role = conn.role;
    if (role.kind === "host") {
      // Host to one of its guests; unknown peers (just left) are dropped quietly.
      role.session.guests.get(peer)?.send({
        t: "signal",
        peer: 0,
        epoch: msg.epoch,
        data: msg.data,
      });
    } else if (role.kind === "guest") {
      role.session.host.send({ t: "signal", peer: role.peer, epoch: msg.epoch, data: msg.data });
    } else {
      conn.close("signal before host/join");
    }
  }

  /** Close everything (relay shutdown). */
  closeAll(reason: string): void {
    for (const s of [...this.#sessions.values()]) {
      this.#end(s);
      for (const id of s.pairs.values()) this.#pairs?.revokePair(id);
      s.pairs.clear();
      for (const g of s.guests.values()) g.close(reason);
      s.host.close(reason);
    }
  }
}
