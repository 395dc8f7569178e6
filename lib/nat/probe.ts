/**
 * NAT behaviour discovery, the client side (RFC 5780 §4): against the relay's
 * behaviour server (lib/stun behaviour_server.ts), find whether UDP works,
 * the public address, how the NAT maps (§4.3) and filters (§4.4), whether it
 * hairpins (§3.4), and whether the mapping holds still.
 *
 * The tests run in parallel on two sockets, so the whole probe costs about
 * one round trip plus the filtering wait (~0.8 s) when the NAT drops answers,
 * and a few milliseconds more than one round trip when it does not:
 *
 *   M (mapping)    test I to A1:P1; then II to A2:P1 and III to A2:P2 at once
 *                  (III decides only when II differs; sending it early saves
 *                  a round trip and changes nothing: the mapping M uses for
 *                  A2 is the same whether or not III was sent). Then, at
 *                  least STABLE_AFTER_MS after test I, I again (stability).
 *   F (filtering)  test I, and at once II (change IP and port) and III
 *                  (change port), all to A1:P1 only. RFC 5780 §4.4 orders
 *                  II before III to save packets; the verdict cannot depend
 *                  on the order, because a NAT's filter only opens for
 *                  destinations the socket sent to, and F sends to A1:P1
 *                  alone. That is also why the filtering tests need their own
 *                  socket: M's traffic to A2 would open F's filter for A2.
 *   hairpin        once both public addresses are known, M and F each send a
 *                  Binding request to the other's public address (RFC 5780
 *                  §3.4 sends from one side only; sending from both opens
 *                  each socket's filter to the other, so a port-restricted
 *                  NAT that hairpins is seen to). Either arriving is "yes".
 *                  F's filter is opened only to the NAT's own public IP,
 *                  never a relay address, so its filtering tests stand.
 *
 * With a one-address server (no OTHER-ADDRESS) the same sockets run the
 * port-only versions: mapping compares A1:P1 with A1:P2 (the alternate port
 * from `altPort`, else from where a change-port answer came from), and
 * filtering can tell only whether the NAT filters by port. What could not be
 * told apart is listed in `untested`, and the value reported is the one the
 * verdict would use anyway (see the `mapping` and `filtering` fields).
 */
import type dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import {
  bindUdp,
  ChangeRequest,
  type ChangeRequestFlags,
  closeUdp,
  createMessage,
  decodeMessage,
  encodeMessage,
  getAttribute,
  isStunMessage,
  MappedAddress,
  OtherAddress,
  sendTo,
  setAttribute,
  StunClass,
  StunDecodeError,
  StunMethod,
  stunTransaction,
  type StunTransactionResult,
  type TransportAddress,
  XorMappedAddress,
} from "../stun/mod.ts";
import { type Behaviour, natVerdict } from "./verdict.ts";

/** Options for {@link probeNat}, validated before anything is sent. */
export interface NatProbeOptions {
  /** The relay's host (name or IP; IPv6 may be bracketed). */
  host: string;
  /** Its STUN/TURN UDP port, P1 (the relay's `stun_port`). */
  port: number;
  /**
   * Its second port on the same address, P2 (the relay's `stun_alt_port`).
   * Only used when the server has one address: a two-address server names
   * its own in OTHER-ADDRESS. Default: learned from a change-port answer.
   */
  altPort?: number;
  /**
   * The whole probe's budget; with no answer at all by then UDP is reported
   * blocked. Default 2500, so that verdict comes within 3 s.
   */
  timeoutMs?: number;
  /**
   * Called once the mapping is known, before the filtering tests have waited
   * out their silence (~800 ms more): the mapping alone may already settle
   * whether a direct path can work. Not called if the mapping stays unknown.
   */
  onMapping?: (early: { mapping: Behaviour; public_address: string }) => void;
}

/** What the probe found. Field names are the `tun debug nat-type --json` ones. */
export interface NatReport {
  /** Any answer came back over UDP. */
  udp: boolean;
  /** The public address the relay saw the mapping socket at, "ip:port" ("[ip]:port" for IPv6). */
  public_address: string | null;
  /**
   * RFC 4787 §4.1 mapping, or null when not determined. With a one-address
   * server, "endpoint-independent" means "the same public port for two
   * server ports": address-dependent mapping, which is rare, would look the
   * same (it is then listed in `untested`).
   */
  mapping: Behaviour | null;
  /**
   * RFC 4787 §5 filtering, or null when not determined. With a one-address
   * server, "address-dependent" means "does not filter by port": it may be
   * endpoint-independent (listed in `untested`); the verdict is the same.
   */
  filtering: Behaviour | null;
  /** A packet sent to our own public address came back in (RFC 4787 §6). */
  hairpin: boolean | null;
  /**
   * The mapping held still: asked again from the same socket at least
   * STABLE_AFTER_MS later (after the other tests had used the NAT), the relay
   * saw the same public address, and both probe sockets were given the same
   * public IP (RFC 4787 §4.1 "paired" pooling). null when it could not be asked.
   */
  mapping_stable: boolean | null;
  /** Plain words: what to expect of direct connections (verdict.ts). */
  verdict: string;
  /** Each test that could not run or could not decide, and why. */
  untested: string[];
  elapsed_ms: number;
}

/** First retransmission timeout; it doubles (RFC 8489 §6.2.1): sends at 0, 250, 750, 1750 ms. */
const RTO_MS = 250;
/**
 * How long, after the first answer, F waits for change-IP/change-port
 * answers before deciding that the NAT dropped them: two retransmissions'
 * worth, or four round trips on a slow path.
 */
const FILTER_WAIT_MS = 800;
/** How long the two sockets try to reach each other through the NAT. */
const HAIRPIN_WAIT_MS = 600;
const HAIRPIN_RESEND_MS = 100;
/** The stability check asks again no sooner than this after test I. */
const STABLE_AFTER_MS = 200;

/**
 * Run the RFC 5780 tests against the relay's STUN port. Whatever the network
 * does, this resolves with a report within `timeoutMs` (plus the DNS lookup);
 * it rejects only for bad options, a `host` that does not resolve, or no
 * local UDP socket.
 */
export async function probeNat(options: NatProbeOptions): Promise<NatReport> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 2500;
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs ${timeoutMs} must be > 0`);
  for (const port of [options.port, options.altPort ?? 1]) {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
      throw new RangeError(`port ${port} is not 1..65535`);
    }
  }
  const { address: ip, family } = await lookup(options.host.replace(/^\[(.*)\]$/, "$1"));
  const wildcard = family === 6 ? "::" : "0.0.0.0";

  const m = await bindUdp(wildcard, 0);
  let f: dgram.Socket | undefined;
  const stop = new AbortController();
  try {
    f = await bindUdp(wildcard, 0);
    const run = new Run(ip, options, m, f, started + timeoutMs, stop.signal);
    const report = await run.report();
    return { ...report, elapsed_ms: Math.round(performance.now() - started) };
  } finally {
    stop.abort();
    await Promise.all([closeUdp(m), f && closeUdp(f)]);
  }
}

/** An answer with the time it came, or null for none. */
type Answer = (StunTransactionResult & { at: number }) | null;

/** One probe's state: sockets, deadline, and what is untested so far. */
class Run {
  readonly untested: string[] = [];
  readonly server: TransportAddress;

  constructor(
    ip: string,
    readonly options: NatProbeOptions,
    readonly m: dgram.Socket,
    readonly f: dgram.Socket,
    readonly deadline: number,
    readonly signal: AbortSignal,
  ) {
    this.server = { family: ip.includes(":") ? "IPv6" : "IPv4", address: ip, port: options.port };
  }

  async report(): Promise<Omit<NatReport, "elapsed_ms">> {
    const { m, f, server } = this;
    const mI = this.ask(m, server);
    const fI = this.ask(f, server);
    const fII = this.ask(f, server, { changeIp: true, changePort: true });
    const fIII = this.ask(f, server, { changeIp: false, changePort: true });
    // The filtering wait starts at the first answer: by then a change answer
    // the NAT let through has had as long as a plain one to arrive.
    const first = firstOf([mI, fI]);
    const filterDecided = first.then((a) =>
      a ? Math.min(this.deadline, a.at + Math.max(FILTER_WAIT_MS, 4 * a.rttMs)) : this.deadline
    );

    const mappingDone = this.mapping(mI, fIII, filterDecided);
    const onMapping = this.options.onMapping;
    if (onMapping) {
      Promise.all([mappingDone, mI]).then(([mapping, answer]) => {
        const mapped = mappedOf(answer);
        if (mapping && mapped && !this.signal.aborted) {
          onMapping({ mapping, public_address: formatAddress(mapped) });
        }
      }).catch(() => {}); // the report says what failed
    }
    const [mapping, filtering, hairpin, stable] = await Promise.all([
      mappingDone,
      this.filtering(fI, fII, fIII, filterDecided),
      this.hairpin(mI, fI),
      this.stability(mI, fI, mappingDone),
    ]);
    const [m1, f1] = [await mI, await fI];
    const udp = m1 !== null || f1 !== null;
    const mapped = mappedOf(m1) ?? mappedOf(f1);
    if (!udp) {
      this.untested.splice(
        0,
        this.untested.length,
        "everything: no answer from the relay over UDP",
      );
    }
    const found = {
      udp,
      public_address: mapped ? formatAddress(mapped) : null,
      mapping: udp ? mapping : null,
      filtering: udp ? filtering : null,
      hairpin: udp ? hairpin : null,
      mapping_stable: udp ? stable : null,
    };
    return { ...found, verdict: natVerdict(found), untested: this.untested };
  }

  /** RFC 5780 §4.3 on socket M. */
  async mapping(
    mI: Promise<Answer>,
    fIII: Promise<Answer>,
    filterDecided: Promise<number>,
  ): Promise<Behaviour | null> {
    const first = await mI;
    const x1 = mappedOf(first);
    if (!first || !x1) return null;
    const other = otherOf(first);
    if (other) {
      const ii = this.ask(this.m, { ...other, port: this.server.port });
      const iii = this.ask(this.m, other);
      const x2 = mappedOf(await ii);
      if (!x2) return this.skip("mapping: no answer from the relay's other address");
      if (sameAddress(x1, x2)) return "endpoint-independent";
      const x3 = mappedOf(await iii);
      if (!x3) return this.skip("mapping: no answer from the relay's other address and port");
      return sameAddress(x2, x3) ? "address-dependent" : "address-and-port-dependent";
    }
    // One address: compare the two ports.
    let altPort = this.options.altPort;
    if (altPort === undefined) {
      const changed = await until(fIII, filterDecided);
      if (changed && changed.response.class === StunClass.SuccessResponse) {
        altPort = changed.from.port;
      }
    }
    if (altPort === undefined || altPort === this.server.port) {
      return this.skip("mapping: the relay named no second address or port to compare with");
    }
    const x2 = mappedOf(await this.ask(this.m, { ...this.server, port: altPort }));
    if (!x2) return this.skip("mapping: no answer from the relay's second port");
    if (!sameAddress(x1, x2)) return "address-and-port-dependent";
    this.untested.push(
      "mapping: the relay has one address, so address-dependent mapping (rare) would look " +
        "endpoint-independent",
    );
    return "endpoint-independent";
  }

  /** RFC 5780 §4.4 on socket F. */
  async filtering(
    fI: Promise<Answer>,
    fII: Promise<Answer>,
    fIII: Promise<Answer>,
    filterDecided: Promise<number>,
  ): Promise<Behaviour | null> {
    const plain = await fI;
    if (!plain) return this.skip("filtering: no answer to the filtering socket");
    const { server } = this;
    const both = await until(fII, filterDecided);
    if (both && isSuccess(both)) {
      if (both.from.address !== server.address && both.from.port !== server.port) {
        return "endpoint-independent";
      }
      return this.skip("filtering: the relay ignored CHANGE-REQUEST");
    }
    const oneAddress = both !== null || !otherOf(plain);
    const portOnly = await until(fIII, filterDecided);
    if (portOnly && isSuccess(portOnly)) {
      if (portOnly.from.address !== server.address || portOnly.from.port === server.port) {
        return this.skip("filtering: the relay ignored CHANGE-REQUEST");
      }
      if (!oneAddress) return "address-dependent";
      this.untested.push(
        "filtering: the relay has one address, so endpoint-independent and address-dependent " +
          "filtering cannot be told apart",
      );
      return "address-dependent";
    }
    if (portOnly) return this.skip("filtering: the relay does not support CHANGE-REQUEST");
    if (both === null && !otherOf(plain)) {
      // No 420 and no OTHER-ADDRESS: not a server whose silence means anything.
      return this.skip("filtering: the relay did not answer CHANGE-REQUEST");
    }
    // The relay can change port (it answered or 420'd the other request), the
    // plain request was answered, and the change-port answer never came in.
    return "address-and-port-dependent";
  }

  /** RFC 5780 §3.4, from both sockets at once (see the file comment). */
  async hairpin(mI: Promise<Answer>, fI: Promise<Answer>): Promise<boolean | null> {
    const [xm, xf] = [mappedOf(await mI), mappedOf(await fI)];
    if (!xm || !xf) return this.skip("hairpin: the public address of both sockets is needed");
    const end = Math.min(this.deadline, performance.now() + HAIRPIN_WAIT_MS);
    const toF = createMessage(StunMethod.Binding, StunClass.Request);
    const toM = createMessage(StunMethod.Binding, StunClass.Request);
    return await new Promise<boolean>((resolve) => {
      const listeners: [dgram.Socket, (data: Uint8Array) => void][] = [
        [this.f, arrivalOf(toF.transactionId, () => done(true))],
        [this.m, arrivalOf(toM.transactionId, () => done(true))],
      ];
      for (const [socket, listener] of listeners) socket.on("message", listener);
      const send = () => {
        sendTo(this.m, encodeMessage(toF, { fingerprint: true }), xf);
        sendTo(this.f, encodeMessage(toM, { fingerprint: true }), xm);
      };
      send();
      const resend = setInterval(send, HAIRPIN_RESEND_MS);
      const timer = setTimeout(() => done(false), Math.max(0, end - performance.now()));
      const signal = this.signal;
      signal.addEventListener("abort", onAbort);
      function onAbort() {
        done(false);
      }
      function done(result: boolean) {
        clearInterval(resend);
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        for (const [socket, listener] of listeners) socket.off("message", listener);
        resolve(result);
      }
    });
  }

  /** The mapping stays put over time and is on one public IP for both sockets. */
  async stability(
    mI: Promise<Answer>,
    fI: Promise<Answer>,
    mappingDone: Promise<unknown>,
  ): Promise<boolean | null> {
    const first = await mI;
    const x1 = mappedOf(first);
    if (!first || !x1) return null;
    await mappingDone;
    await sleep(first.at + STABLE_AFTER_MS - performance.now(), this.signal);
    const x4 = mappedOf(await this.ask(this.m, this.server));
    if (!x4) return this.skip("mapping_stable: no answer when asked again");
    const xf = mappedOf(await fI);
    return sameAddress(x1, x4) && (!xf || xf.address === x1.address);
  }

  /** One transaction, answered or null by the deadline. */
  ask(socket: dgram.Socket, to: TransportAddress, change?: ChangeRequestFlags): Promise<Answer> {
    const timeoutMs = this.deadline - performance.now();
    if (timeoutMs <= 0 || this.signal.aborted) return Promise.resolve(null);
    const request = createMessage(StunMethod.Binding, StunClass.Request);
    if (change) setAttribute(request, ChangeRequest, change);
    return stunTransaction({ host: to.address, port: to.port }, request, {
      socket,
      timeoutMs,
      rtoMs: RTO_MS,
      signal: this.signal,
    }).then((result) => ({ ...result, at: performance.now() }), () => null);
  }

  skip(reason: string): null {
    this.untested.push(reason);
    return null;
  }
}

/** The first non-null answer, or null when all are null. */
function firstOf(answers: Promise<Answer>[]): Promise<Answer> {
  return new Promise((resolve) => {
    let left = answers.length;
    for (const answer of answers) {
      answer.then((a) => {
        if (a) resolve(a);
        else if (--left === 0) resolve(null);
      });
    }
  });
}

/** The answer if it has come by the time `decided` names, else null. */
async function until(answer: Promise<Answer>, decided: Promise<number>): Promise<Answer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = decided.then((at) =>
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), Math.max(0, at - performance.now()));
    })
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

function isSuccess(answer: NonNullable<Answer>): boolean {
  return answer.response.class === StunClass.SuccessResponse;
}

/**
 * The mapped address of a success answer, or undefined.
 *
 * UNTRUSTED INPUT: the response's attributes are decoded here; a malformed
 * one counts as missing.
 */
function mappedOf(answer: Answer): TransportAddress | undefined {
  if (!answer || !isSuccess(answer)) return undefined;
  return read(() =>
    getAttribute(answer.response, XorMappedAddress) ??
      getAttribute(answer.response, MappedAddress)
  );
}

/** OTHER-ADDRESS of a success answer, or undefined (also when malformed). */
function otherOf(answer: NonNullable<Answer>): TransportAddress | undefined {
  if (!isSuccess(answer)) return undefined;
  return read(() => getAttribute(answer.response, OtherAddress));
}

function read<T>(get: () => T | undefined): T | undefined {
  try {
    return get();
  } catch (err) {
    if (err instanceof StunDecodeError) return undefined;
    throw err;
  }
}

/** A listener that calls `arrived` when a Binding request with `id` comes in. */
function arrivalOf(id: Uint8Array, arrived: () => void): (data: Uint8Array) => void {
  // UNTRUSTED INPUT: anything may arrive; only our own hairpinned request counts.
  return (data) => {
    if (!isStunMessage(data)) return;
    try {
      const msg = decodeMessage(data);
      if (msg.class !== StunClass.Request || msg.method !== StunMethod.Binding) return;
      if (msg.transactionId.every((b, i) => b === id[i])) arrived();
    } catch (err) {
      if (!(err instanceof StunDecodeError)) throw err;
    }
  };
}

function sameAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.address === b.address && a.port === b.port;
}

function formatAddress(a: TransportAddress): string {
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
