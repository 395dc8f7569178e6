/**
 * The TURN handler with no sockets: fake relay sockets that record what they
 * send, fake clients that record what they receive, and a clock the test
 * moves by hand.
 */
import {
  createMessage,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  getAttribute,
  longTermKey,
  Nonce,
  Realm,
  RequestedTransport,
  setAttribute,
  StunClass,
  type StunMessage,
  TRANSPORT_UDP,
  type TransportAddress,
  Username,
} from "../../lib/stun/mod.ts";
import {
  mintTurnCredentials,
  type RelayRequest,
  type RelaySocket,
  type TurnClient,
  TurnHandler,
  type TurnHandlerOptions,
  TurnMethod,
} from "../../lib/turn/mod.ts";

export const SECRET = "fake secret";
export const REALM = "fake.realm";

export class FakeRelay implements RelaySocket {
  readonly port: number;
  readonly sent: { data: Uint8Array; peer: TransportAddress }[] = [];
  onData: ((data: Uint8Array, peer: TransportAddress) => void) | undefined;
  closed = false;

  constructor(port: number) {
    this.port = port;
  }

  send(data: Uint8Array, peer: TransportAddress): void {
    if (!this.closed) this.sent.push({ data: data.slice(), peer });
  }

  close(): void {
    this.closed = true;
  }

  /** A datagram from a peer arrives at this relayed address. */
  receive(data: Uint8Array, peer: TransportAddress): void {
    if (!this.closed) this.onData?.(data, peer);
  }
}

export class FakeClient implements TurnClient {
  readonly transport: "udp" | "tcp";
  readonly address: TransportAddress;
  readonly key: string;
  readonly received: Uint8Array[] = [];

  constructor(transport: "udp" | "tcp", port: number, ip = "192.0.2.1") {
    this.transport = transport;
    this.address = { family: "IPv4", address: ip, port };
    this.key = `${transport} ${ip} ${port}`;
  }

  send(bytes: Uint8Array): void {
    this.received.push(bytes.slice());
  }
}

export function peer(port = 5000, address = "198.51.100.7"): TransportAddress {
  return { family: "IPv4", address, port };
}

/** A handler with fake relays, a hand-moved clock, and helpers to talk to it. */
export class Harness {
  now = 1_700_000_000_000;
  readonly relays: FakeRelay[] = [];
  readonly requests: RelayRequest[] = [];
  readonly internal: unknown[] = [];
  readonly handler: TurnHandler;
  #nextPort = 50_000;

  constructor(options: Partial<TurnHandlerOptions> = {}) {
    this.handler = new TurnHandler(
      {
        realm: REALM,
        secret: SECRET,
        relayAddress: "203.0.113.9",
        // The peers here are documentation addresses (RFC 5737), which the
        // default policy refuses; peer_policy_test.ts covers that.
        allowPrivatePeers: true,
        now: () => this.now,
        onInternalError: (err) => this.internal.push(err),
        ...options,
      },
      (request) => {
        this.requests.push(request);
        let port = this.#nextPort++;
        if (request.evenPort && port % 2) port = this.#nextPort++;
        const relay = new FakeRelay(port);
        this.relays.push(relay);
        if (!request.reserveNext) return Promise.resolve({ relay });
        this.#nextPort++;
        const reserved = new FakeRelay(port + 1);
        this.relays.push(reserved);
        return Promise.resolve({ relay, reserved });
      },
    );
  }

  /** Move the clock and run the sweep, as the server's timer would. */
  advance(seconds: number): void {
    this.now += seconds * 1000;
    this.handler.sweep();
  }

  async send(client: TurnClient, bytes: Uint8Array): Promise<DecodedStunMessage | undefined> {
    const response = await this.handler.handle(bytes, client);
    return response && decodeMessage(response);
  }

  /** A nonce, from the 401 to an unauthenticated request. */
  async nonce(client: TurnClient): Promise<string> {
    const response = await this.send(client, encodeMessage(allocateRequest()));
    return getAttribute(response!, Nonce)!;
  }

  /** A request signed with long-term credentials (fresh ones and a fresh nonce by default). */
  async signed(
    client: TurnClient,
    msg: StunMessage,
    credentials: { username: string; password: string } = this.credentials(),
    options: { nonce?: string; realm?: string } = {},
  ): Promise<DecodedStunMessage> {
    const nonce = options.nonce ?? await this.nonce(client);
    return (await this.send(client, sign(msg, credentials, nonce, options.realm)))!;
  }

  credentials(id = "alice", ttl = 3600) {
    return mintTurnCredentials(SECRET, id, ttl, this.now);
  }
}

/** An Allocate request for UDP relaying; `fill` adds more. */
export function allocateRequest(fill: (m: StunMessage) => void = () => {}): StunMessage {
  const msg = createMessage(TurnMethod.Allocate, StunClass.Request);
  setAttribute(msg, RequestedTransport, TRANSPORT_UDP);
  fill(msg);
  return msg;
}

export function request(method: number, fill: (m: StunMessage) => void = () => {}): StunMessage {
  const msg = createMessage(method, StunClass.Request);
  fill(msg);
  return msg;
}

/** `msg` on the wire with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY. */
export function sign(
  msg: StunMessage,
  credentials: { username: string; password: string },
  nonce: string,
  realm = REALM,
): Uint8Array {
  setAttribute(msg, Username, credentials.username);
  setAttribute(msg, Realm, realm);
  setAttribute(msg, Nonce, nonce);
  const key = longTermKey(credentials.username, realm, credentials.password);
  return encodeMessage(msg, { integrityKey: key });
}
