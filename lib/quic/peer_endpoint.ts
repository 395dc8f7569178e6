/**
 * A peer's QUIC endpoint for the data plane: one UDP port that listens for the
 * other peer (with a fresh self-signed certificate), dials it, and keeps a
 * connection to the relay's QUIC listener, which tells it the address the
 * relay observes. Because the relay connection and the peer connections
 * leave from the same port, the observed address is where the other peer can
 * reach this one through an endpoint-independent-mapping NAT, and both peers
 * dialling each other at once (a simultaneous open) opens both NATs.
 */
import { networkInterfaces } from "node:os";
import { openQuicEndpoint, type QuicConnLike, type QuicEndpointLike } from "../runtime/mod.ts";
import { derToPem, selfSignedCert } from "../cert/mod.ts";
import type { QuicListenerInfo } from "../signal/mod.ts";
import { certFingerprint, PEER_ALPN, PEER_SERVER_NAME } from "./proof.ts";
import { formatAddress, parseAddress, RELAY_ALPN, RELAY_SERVER_NAME } from "./relay_wire.ts";
import { RelayLink } from "./relay_client.ts";
import { withTimeout } from "./stream_reader.ts";

export interface PeerEndpointOptions {
  /** The relay's host name or IP, as this peer reaches its signalling. */
  relayHost: string;
  /** The relay's QUIC listener, from its `welcome`. */
  relay: QuicListenerInfo;
  /** How long reaching the relay's QUIC listener may take. Default 10 s. */
  timeoutMs?: number;
}

/** Candidate addresses offered at most (signalling's MAX_QUIC_ADDRS). */
const MAX_CANDIDATES = 8;
/** Peers' certificates live as long as the process that made them; one a year is plenty. */
const CERT_DAYS = 365;

type PeerCert = Awaited<ReturnType<typeof selfSignedCert>>;

function makePeerCert(): Promise<PeerCert> {
  return selfSignedCert({
    commonName: "tun peer",
    dnsNames: [PEER_SERVER_NAME],
    validDays: CERT_DAYS,
  });
}

/** A certificate made ahead by {@link preparePeerEndpoint}; the next endpoint takes it. */
let spareCert: Promise<PeerCert> | null = null;

/**
 * Start making the next endpoint's certificate now. The first one a process
 * makes costs ~70-120 ms (WebCrypto and the X.509 code warming up, ten times a
 * later one), so a peer that will need an endpoint calls this as early as it
 * can and overlaps that with its signalling. Each certificate serves one
 * endpoint only.
 */
export function preparePeerEndpoint(): void {
  if (spareCert) return;
  spareCert = makePeerCert();
  spareCert.catch(() => {}); // open() makes another if this one failed
}

export class PeerEndpoint {
  /** This endpoint's certificate (DER), sent to the other peer. */
  readonly certDer: Uint8Array;
  /** "SHA-256 AB:..." of {@link certDer}, bound to the PAKE. */
  readonly fingerprint: string;
  readonly relay: RelayLink;
  /** This endpoint as the relay observes it. */
  readonly observed: { address: string; port: number };
  /** Connections the other peer opened (TLS done; not yet proved). */
  readonly incoming: ReadableStream<QuicConnLike>;
  readonly #endpoint: QuicEndpointLike;

  private constructor(
    endpoint: QuicEndpointLike,
    certDer: Uint8Array,
    fingerprint: string,
    relay: RelayLink,
    observed: { address: string; port: number },
  ) {
    this.#endpoint = endpoint;
    this.certDer = certDer;
    this.fingerprint = fingerprint;
    this.relay = relay;
    this.observed = observed;
    this.incoming = endpoint.incoming;
  }

  /** Bind a port, connect to the relay's listener from it, and learn the observed address. */
  static async open(options: PeerEndpointOptions): Promise<PeerEndpoint> {
    const spare = spareCert;
    spareCert = null;
    const cert = await (spare ?? makePeerCert()).catch(() => makePeerCert());
    const endpoint = await openQuicEndpoint({
      port: 0,
      server: { certPem: cert.certPem, keyPem: cert.keyPem, alpn: [PEER_ALPN] },
    });
    try {
      const timeout = options.timeoutMs ?? 10_000;
      const conn = await withTimeout(
        endpoint.connect({
          hostname: options.relayHost,
          port: options.relay.port,
          alpn: [RELAY_ALPN],
          caCertPem: derToPem(options.relay.cert),
          serverName: RELAY_SERVER_NAME,
        }),
        timeout,
        "the relay's QUIC listener",
      );
      const relay = new RelayLink(conn);
      const observed = await relay.observe();
      return new PeerEndpoint(endpoint, cert.der, await certFingerprint(cert.der), relay, observed);
    } catch (err) {
      endpoint.close();
      throw err;
    }
  }

  get port(): number {
    return this.#endpoint.port;
  }

  /** Where the other peer may reach this endpoint: the observed address, then local ones. */
  candidates(): string[] {
    const out = [formatAddress(this.observed.address, this.observed.port)];
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        if (a.internal || a.family !== "IPv4") continue;
        const candidate = formatAddress(a.address, this.port);
        if (!out.includes(candidate)) out.push(candidate);
      }
    }
    return out.slice(0, MAX_CANDIDATES);
  }

  /** Dial the other peer at `addr` ("ip:port"), trusting only its certificate `certDer`. */
  dial(addr: string, certDer: Uint8Array): Promise<QuicConnLike> {
    const target = parseAddress(addr);
    if (!target) return Promise.reject(new Error(`not an address: ${addr.slice(0, 64)}`));
    return this.#endpoint.connect({
      hostname: target.address,
      port: target.port,
      alpn: [PEER_ALPN],
      caCertPem: derToPem(certDer),
      serverName: PEER_SERVER_NAME,
    });
  }

  close(): void {
    this.#endpoint.close();
  }
}
