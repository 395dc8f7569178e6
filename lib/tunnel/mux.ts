/**
 * Stream multiplexer: many tunnelled TCP connections over one reliable, ordered,
 * message-based channel (see frame.ts for the wire format).
 *
 * Two kinds of backpressure keep memory bounded on both peers:
 * - per stream, credit-based flow control: a sender never has more than the
 *   receiver's window in flight, and the receiver grants credit back only once
 *   its consumer says the bytes are consumed (written out to the TCP socket).
 *   Windows start small and grow (receiver side only, so the wire protocol is
 *   unchanged) for streams whose reader keeps up, within a budget per mux;
 * - per channel, the sender stops sending DATA while the channel's
 *   `bufferedAmount` is above a high watermark and polls it until it falls below
 *   the low watermark (a DataChannel's `bufferedamountlow` event never fires, and
 *   libwebrtc closes a channel whose send queue passes 16 MiB).
 *
 * A stream's error or RESET closes that stream only. A malformed frame means the
 * peer is broken: the whole mux closes with a reason.
 */
import {
  dataFrameIn,
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameDecodeError,
  HEADER_SIZE,
  MAX_DATA_PAYLOAD,
  MAX_FRAME_SIZE,
  MAX_STREAM_ID,
  PING_PAYLOAD_SIZE,
  PROTOCOL_VERSION,
  REMOTE_STREAM_BIT,
  truncateUtf8,
} from "./frame.ts";

/**
 * The channel a mux runs over: open, reliable, ordered, one frame per message.
 * Implemented by a DataChannel adapter (later QUIC, WebSocket).
 */
export interface MessageChannel {
  /**
   * Queue one message. The channel copies `data` (as RTCDataChannel.send does)
   * or is done with it before returning: the mux reuses the buffer.
   */
  send(data: Uint8Array): void;
  /** Bytes handed to `send` and not yet transmitted. */
  readonly bufferedAmount: number;
  onmessage: ((data: Uint8Array) => void) | null;
  onclose: (() => void) | null;
  close(): void;
}

/** Options for {@link Mux}. Every field is optional; defaults are on the fields. */
export interface MuxOptions {
  /**
   * Bytes the peer may send on each stream before we grant more: each
   * stream's receive window to begin with. Default 256 KiB.
   */
  initialWindow?: number;
  /**
   * A stream's window doubles, up to this, each time its reader consumes a
   * whole window within {@link GROW_WITHIN_MS} while keeping up (at most a
   * quarter window waiting): throughput per stream is at most window / RTT,
   * and a reader that keeps up holds little of it. Default 4 MiB.
   */
  maxWindow?: number;
  /**
   * Bytes all streams' windows together may grow beyond `initialWindow`.
   * The worst-case receive memory is `maxStreams * initialWindow + windowBudget`.
   * Default 16 MiB.
   */
  windowBudget?: number;
  /**
   * Largest DATA payload we send, 1..261120 (255 KiB), and never more than the
   * peer's HELLO accepts (64 KiB from peers that predate larger frames).
   * Default 255 KiB: libwebrtc's cost per message makes larger ones cheaper.
   */
  maxFramePayload?: number;
  /** Stop sending DATA while `channel.bufferedAmount` is above this. Default 4 MiB, max 8 MiB. */
  highWatermark?: number;
  /** Resume sending once `bufferedAmount` is at or below this. Default 1 MiB. */
  lowWatermark?: number;
  /** How often to poll `bufferedAmount` while paused (only then). Default 5 ms. */
  pollIntervalMs?: number;
  /** Streams the peer may have open at once; further OPENs get a RESET. Default 256. */
  maxStreams?: number;
}

/** Why a stream closed abruptly: a RESET from either side, or the mux closing. */
export class StreamResetError extends Error {
  override name = "StreamResetError";
  constructor(readonly reason: string, readonly remote: boolean) {
    super(`stream reset ${remote ? "by peer" : "locally"}: ${reason}`);
  }
}

/**
 * One tunnelled connection: a duplex byte stream with backpressure and
 * half-close. Callbacks follow the channel's style (assign a function).
 */
export interface TunnelStream {
  /** The id the opening side gave this stream. */
  readonly id: number;
  /** True once the stream has closed (gracefully or by reset); `onclose` has fired. */
  readonly closed: boolean;
  /**
   * Receives the peer's data in order. Call {@link consume} for every byte once
   * it is really consumed; only then does the peer get credit to send more.
   * Data (and the peer's FIN) that arrive while this is null wait in the stream,
   * at most one window of it, and are delivered in a microtask after it is set.
   */
  ondata: ((chunk: Uint8Array) => void) | null;
  /** The peer sent FIN: no more data will arrive. Fires after the last `ondata`. */
  onend: (() => void) | null;
  /** Everything written has been handed to the channel; writing may continue. */
  ondrain: (() => void) | null;
  /** Fires once: with no argument after FIN both ways, or with the reset's cause. */
  onclose: ((error?: StreamResetError) => void) | null;
  /** Grant the peer `bytes` more credit: that much delivered data has been consumed. */
  consume(bytes: number): void;
  /**
   * Queue `chunk` for the peer; the stream keeps a reference until it is sent, so
   * do not modify it. Returns false when bytes are left waiting for credit or for
   * the channel: stop writing until `ondrain`. Writing to a closed stream drops
   * the chunk and returns false.
   */
  write(chunk: Uint8Array): boolean;
  /** Send FIN after the queued data (TCP half-close). Idempotent. */
  end(): void;
  /** Close both directions now, dropping queued data, and tell the peer why. */
  reset(reason?: string): void;
}

const DEFAULTS: Required<MuxOptions> = {
  initialWindow: 256 * 1024,
  maxWindow: 4 * 1024 * 1024,
  windowBudget: 16 * 1024 * 1024,
  maxFramePayload: MAX_DATA_PAYLOAD,
  highWatermark: 4 * 1024 * 1024,
  lowWatermark: 1024 * 1024,
  pollIntervalMs: 5,
  maxStreams: 256,
};

/** Keeps a paused sender well under libwebrtc's 16 MiB send queue limit. */
const MAX_HIGH_WATERMARK = 8 * 1024 * 1024;
const MAX_WINDOW = 0x4000_0000;
/** A window consumed within this long, by a reader keeping up, is too small. */
export const GROW_WITHIN_MS = 50;
const MAX_CREDIT = 0xffff_ffff;

function validate(options: MuxOptions): Required<MuxOptions> {
  // A window set without a maximum stays as set (as before windows grew).
  const o = { ...DEFAULTS, maxWindow: options.initialWindow ?? DEFAULTS.maxWindow, ...options };
  const int = (name: keyof MuxOptions, min: number, max: number) => {
    const v = o[name];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`Mux option ${name} must be an integer in ${min}..${max}, got ${v}`);
    }
  };
  int("initialWindow", 1, MAX_WINDOW);
  int("maxWindow", o.initialWindow, MAX_WINDOW);
  int("windowBudget", 0, MAX_WINDOW);
  int("maxFramePayload", 1, MAX_DATA_PAYLOAD);
  int("highWatermark", 1, MAX_HIGH_WATERMARK);
  int("lowWatermark", 0, o.highWatermark - 1);
  int("pollIntervalMs", 1, 1000);
  int("maxStreams", 1, MAX_STREAM_ID);
  return o;
}

/** Multiplexes {@link TunnelStream}s over one {@link MessageChannel}. */
export class Mux {
  /** Called for each stream the peer opens (host side). Unset: the peer's OPENs are reset. */
  onstream: ((stream: TunnelStream) => void) | null = null;
  /** Called once when the mux closes, with the reason. */
  onclose: ((reason: string) => void) | null = null;

  readonly #channel: MessageChannel;
  readonly #opts: Required<MuxOptions>;
  /** Keyed by the id as we write it on the wire (bit 31 set: the peer opened it). */
  readonly #streams = new Map<number, Stream>();
  /** Streams with a DATA or FIN frame they may send now, in round-robin order. */
  readonly #ready = new Set<Stream>();
  readonly #pings = new Map<
    number,
    { start: number; resolve(ms: number): void; reject(e: Error): void }
  >();
  #nextId = 1;
  #lastPeerId = 0;
  #peerStreams = 0;
  /** The peer's per-stream receive window, known from its HELLO. */
  #peerWindow: number | null = null;
  /** Largest DATA payload we send: ours, or less if the peer's HELLO says so. */
  #framePayload: number;
  #paused = false;
  /**
   * Bytes we may still hand to the channel before reading `bufferedAmount`
   * again. Reading it is a blocking call into libwebrtc's network thread, so it
   * is read once per budget rather than once per frame; the budget can only
   * underestimate the room, because the channel's buffer only drains meanwhile.
   */
  #budget = 0;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  /** How much of `windowBudget` the streams' windows have grown by. */
  #windowGrowth = 0;
  #flushing = false;
  /** DATA frames are built here, one at a time: the channel copies each on send. */
  readonly #scratch = new Uint8Array(MAX_FRAME_SIZE);
  #pingSeq = 0;
  #bytesSent = 0;
  #bytesReceived = 0;
  #messagesReceived = 0;
  #closeReason: string | null = null;

  /** Takes over `channel`'s callbacks; the channel must already be open. */
  constructor(channel: MessageChannel, options: MuxOptions = {}) {
    this.#opts = validate(options);
    this.#framePayload = this.#opts.maxFramePayload;
    this.#channel = channel;
    channel.onmessage = (data) => this.#receive(data);
    channel.onclose = () => this.#shutdown("channel closed", false);
    this.#sendControl({
      type: "hello",
      version: PROTOCOL_VERSION,
      initialWindow: this.#opts.initialWindow,
      maxPayload: MAX_DATA_PAYLOAD,
    });
  }

  /** DATA payload bytes sent on all streams. */
  get bytesSent(): number {
    return this.#bytesSent;
  }
  /** DATA payload bytes received on all streams. */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }
  /**
   * Messages received from the peer, of any kind: a sign of life that a
   * ping queued behind megabytes of data on the one ordered channel is not.
   */
  get messagesReceived(): number {
    return this.#messagesReceived;
  }
  /** True once the mux has closed. */
  get closed(): boolean {
    return this.#closeReason !== null;
  }
  /** Why the mux closed, or null while it is open. */
  get closeReason(): string | null {
    return this.#closeReason;
  }
  /** Streams currently open in either direction. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Open a stream to the peer (guest side). Data may be written at once. */
  openStream(): TunnelStream {
    if (this.closed) throw new Error(`tunnel closed: ${this.#closeReason}`);
    if (this.#nextId > MAX_STREAM_ID) throw new Error("tunnel stream ids exhausted");
    const id = this.#nextId++;
    const stream = new Stream(id, id, this.#peerWindow ?? 0, this.#opts.initialWindow, this.#owner);
    this.#streams.set(id, stream);
    this.#sendControl({ type: "open", streamId: id });
    return stream;
  }

  /** Round-trip time to the peer in milliseconds. Rejects if the mux closes first. */
  ping(): Promise<number> {
    if (this.closed) return Promise.reject(new Error(`tunnel closed: ${this.#closeReason}`));
    const seq = ++this.#pingSeq;
    const opaque = new Uint8Array(PING_PAYLOAD_SIZE);
    const dv = new DataView(opaque.buffer);
    dv.setUint32(0, Math.floor(seq / 2 ** 32));
    dv.setUint32(4, seq >>> 0);
    return new Promise((resolve, reject) => {
      this.#pings.set(seq, { start: performance.now(), resolve, reject });
      this.#sendControl({ type: "ping", opaque });
    });
  }

  /** Close every stream and the channel, telling the peer why. Idempotent. */
  close(reason = "closed"): void {
    this.#shutdown(reason, true);
  }

  // ---- sending ----

  /** What streams may ask of their mux. */
  readonly #owner: StreamOwner = {
    schedule: (stream) => this.#schedule(stream),
    control: (frame) => this.#sendControl(frame),
    grow: (window) => {
      const by = Math.min(
        window,
        this.#opts.maxWindow - window,
        this.#opts.windowBudget - this.#windowGrowth,
      );
      if (by <= 0) return 0;
      this.#windowGrowth += by;
      return by;
    },
    release: (stream) => {
      this.#streams.delete(stream.key);
      this.#ready.delete(stream);
      this.#windowGrowth -= stream.grown;
      if (stream.key & REMOTE_STREAM_BIT) this.#peerStreams--;
    },
  };

  #schedule(stream: Stream): void {
    if (stream.hasFrame()) this.#ready.add(stream);
    this.#flush();
  }

  #sendControl(frame: Frame): void {
    this.#send(encodeFrame(frame));
  }

  #send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.#budget -= bytes.byteLength;
    try {
      this.#channel.send(bytes);
    } catch (err) {
      this.#shutdown(`send failed: ${errorText(err)}`, false);
    }
  }

  /** Send DATA/FIN round-robin until nothing is ready or the channel is too full. */
  #flush(): void {
    if (this.#flushing) return; // a callback re-entered; the outer loop continues
    this.#flushing = true;
    try {
      while (!this.#paused && !this.closed && this.#ready.size > 0) {
        if (this.#budget <= 0) {
          this.#budget = this.#opts.highWatermark - this.#channel.bufferedAmount;
          if (this.#budget < 0) {
            this.#pause();
            break;
          }
        }
        const stream = this.#ready.values().next().value!;
        this.#ready.delete(stream);
        const frame = stream.takeFrame(this.#scratch, this.#framePayload);
        if (frame) {
          if (frame.byteLength > HEADER_SIZE) this.#bytesSent += frame.byteLength - HEADER_SIZE;
          this.#send(frame);
          stream.sent();
        }
        if (stream.hasFrame()) this.#ready.add(stream);
      }
    } finally {
      this.#flushing = false;
    }
  }

  #pause(): void {
    this.#paused = true;
    this.#pollTimer = setInterval(() => {
      const buffered = this.#channel.bufferedAmount;
      if (buffered > this.#opts.lowWatermark) return;
      this.#budget = this.#opts.highWatermark - buffered;
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
      this.#paused = false;
      this.#flush();
    }, this.#opts.pollIntervalMs);
  }

  // ---- receiving ----

  #receive(message: Uint8Array): void {
    if (this.closed) return;
    this.#messagesReceived++;
    let frame: Frame;
    try {
      frame = decodeFrame(message); // untrusted bytes from the peer enter here
    } catch (err) {
      if (!(err instanceof FrameDecodeError)) throw err;
      this.#shutdown(`malformed frame from peer: ${err.message}`, true);
      return;
    }
    if (this.#peerWindow === null && frame.type !== "hello") {
      this.#shutdown(`protocol error: ${frame.type.toUpperCase()} before HELLO`, true);
      return;
    }
    switch (frame.type) {
      case "hello":
        return this.#onHello(frame.version, frame.initialWindow, frame.maxPayload);
      case "open":
        return this.#onOpen(frame.streamId);
      case "data":
        this.#bytesReceived += frame.data.byteLength;
        return this.#lookup(frame.streamId)?.receiveData(frame.data);
      case "fin":
        return this.#lookup(frame.streamId)?.receiveFin();
      case "credit": {
        const stream = this.#lookup(frame.streamId);
        if (stream?.receiveCredit(frame.credit)) this.#schedule(stream);
        return;
      }
      case "reset":
        return this.#lookup(frame.streamId)?.finish(new StreamResetError(frame.reason, true));
      case "ping":
        return this.#sendControl({ type: "pong", opaque: frame.opaque });
      case "pong":
        return this.#onPong(frame.opaque);
      case "goaway":
        return this.#shutdown(`peer closed the tunnel: ${frame.reason}`, false);
    }
  }

  /** A frame's stream, or undefined for a closed or unknown id (such frames are ignored). */
  #lookup(wireId: number): Stream | undefined {
    // The peer sets bit 31 for streams we opened; we key those without it, and vice versa.
    return this.#streams.get((wireId ^ REMOTE_STREAM_BIT) >>> 0);
  }

  #onHello(version: number, window: number, maxPayload: number): void {
    if (this.#peerWindow !== null) {
      return this.#shutdown("protocol error: second HELLO", true);
    }
    if (version !== PROTOCOL_VERSION) {
      return this.#shutdown(
        `peer speaks tunnel protocol v${version}, we speak v${PROTOCOL_VERSION}`,
        true,
      );
    }
    this.#peerWindow = window;
    this.#framePayload = Math.min(this.#framePayload, maxPayload);
    // Streams opened before the HELLO arrived had no credit yet.
    for (const stream of this.#streams.values()) {
      if (stream.receiveCredit(window)) this.#ready.add(stream);
    }
    this.#flush();
  }

  #onOpen(id: number): void {
    if (id <= this.#lastPeerId) {
      return this.#shutdown(`protocol error: OPEN reuses stream id ${id}`, true);
    }
    this.#lastPeerId = id;
    const key = (id | REMOTE_STREAM_BIT) >>> 0;
    if (this.#peerStreams >= this.#opts.maxStreams || !this.onstream) {
      const reason = this.onstream ? "too many streams" : "not accepting streams";
      return this.#sendControl({ type: "reset", streamId: key, reason });
    }
    const stream = new Stream(key, id, this.#peerWindow!, this.#opts.initialWindow, this.#owner);
    this.#streams.set(key, stream);
    this.#peerStreams++;
    try {
      this.onstream(stream);
    } catch (err) {
      stream.reset(`error: ${errorText(err)}`);
    }
  }

  #onPong(opaque: Uint8Array): void {
    const dv = new DataView(opaque.buffer, opaque.byteOffset, opaque.byteLength);
    const seq = dv.getUint32(0) * 2 ** 32 + dv.getUint32(4);
    const ping = this.#pings.get(seq);
    if (!ping) return; // not ours, or answered twice
    this.#pings.delete(seq);
    ping.resolve(performance.now() - ping.start);
  }

  #shutdown(reason: string, tellPeer: boolean): void {
    if (this.closed) return;
    if (tellPeer) {
      this.#sendControl({ type: "goaway", reason: truncateUtf8(reason) });
      if (this.closed) return; // the send failed and closed the mux already
    }
    this.#closeReason = reason;
    clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#ready.clear();
    this.#channel.onmessage = null;
    this.#channel.onclose = null;
    try {
      this.#channel.close();
    } catch {
      // already closed
    }
    for (const stream of [...this.#streams.values()]) {
      stream.finish(new StreamResetError(`tunnel closed: ${reason}`, false));
    }
    const error = new Error(`tunnel closed: ${reason}`);
    for (const ping of this.#pings.values()) ping.reject(error);
    this.#pings.clear();
    try {
      this.onclose?.(reason);
    } catch {
      // the mux is closed either way
    }
  }
}

/** The mux as its streams see it. */
interface StreamOwner {
  /** The stream may have a DATA or FIN frame to send. */
  schedule(stream: Stream): void;
  /** Send a frame that does not wait for the channel watermark. */
  control(frame: Frame): void;
  /** By how much a stream's `window` may grow now (0 at the maximum or out of budget). */
  grow(window: number): number;
  /** The stream closed; forget it. */
  release(stream: Stream): void;
}

/** A stream's state; users see it as a {@link TunnelStream}. */
class Stream implements TunnelStream {
  ondrain: (() => void) | null = null;
  onend: (() => void) | null = null;
  onclose: ((error?: StreamResetError) => void) | null = null;

  #ondata: ((chunk: Uint8Array) => void) | null = null;
  readonly #mux: StreamOwner;
  #closed = false;

  // Sending.
  /** Bytes the peer still allows us to send. */
  #credit: number;
  readonly #queue: Uint8Array[] = [];
  /** Bytes of #queue[0] already sent. */
  #queueOffset = 0;
  #queued = 0;
  #needDrain = false;
  #endQueued = false;
  #finSent = false;

  // Receiving.
  /** Bytes we still allow the peer to send. */
  #allowance: number;
  #window: number;
  /** By how much #window grew beyond the initial window. */
  #grown = 0;
  /** When the reader began consuming the current window's worth, and how much of it so far. */
  #windowStart = performance.now();
  #windowConsumed = 0;
  /** Consumed bytes not yet granted back; sent as CREDIT once large enough. */
  #unacked = 0;
  /** Delivered or waiting bytes the consumer has not consumed yet. */
  #unconsumed = 0;
  /** Data waiting for an `ondata` handler. */
  readonly #inbox: Uint8Array[] = [];
  #finReceived = false;
  #endDelivered = false;
  #deliveryScheduled = false;

  constructor(
    /** Id as we write it on the wire. */
    readonly key: number,
    readonly id: number,
    credit: number,
    window: number,
    mux: StreamOwner,
  ) {
    this.#credit = credit;
    this.#allowance = window;
    this.#window = window;
    this.#mux = mux;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes this stream's window grew by, out of the mux's budget. */
  get grown(): number {
    return this.#grown;
  }

  get ondata(): ((chunk: Uint8Array) => void) | null {
    return this.#ondata;
  }
  set ondata(handler: ((chunk: Uint8Array) => void) | null) {
    this.#ondata = handler;
    if (handler && (this.#inbox.length > 0 || this.#finReceived)) this.#scheduleDelivery();
  }

  consume(bytes: number): void {
    if (this.#closed) return;
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > this.#unconsumed) {
      throw new RangeError(`consume(${bytes}): only ${this.#unconsumed} bytes are unconsumed`);
    }
    this.#unconsumed -= bytes;
    if (this.#finReceived) return; // the peer sends nothing more: no credit needed
    this.#unacked += bytes;
    this.#windowConsumed += bytes;
    // Granting in quarter-window steps saves frames; it cannot stall the peer,
    // because a peer out of credit means a whole window is unacked here.
    if (this.#unacked >= Math.ceil(this.#window / 4)) {
      const credit = this.#unacked + this.#growWindow();
      this.#unacked = 0;
      this.#allowance += credit;
      this.#mux.control({ type: "credit", streamId: this.key, credit });
    }
  }

  /**
   * Window auto-tuning, receiver side: once a whole window has been consumed,
   * double it if that took under GROW_WITHIN_MS and the reader kept up (what
   * limited the stream was the window, not the reader). Returns the growth,
   * to be granted with the credit.
   */
  #growWindow(): number {
    if (this.#windowConsumed < this.#window) return 0;
    const now = performance.now();
    const fast = now - this.#windowStart < GROW_WITHIN_MS && this.#unconsumed <= this.#window / 4;
    this.#windowStart = now;
    this.#windowConsumed = 0;
    const by = fast ? this.#mux.grow(this.#window) : 0;
    this.#window += by;
    this.#grown += by;
    return by;
  }

  write(chunk: Uint8Array): boolean {
    if (this.#closed) return false;
    if (this.#endQueued) throw new Error("write after end");
    if (chunk.byteLength > 0) {
      this.#queue.push(chunk);
      this.#queued += chunk.byteLength;
      this.#mux.schedule(this);
    }
    if (this.#queued === 0) return true;
    this.#needDrain = true;
    return false;
  }

  end(): void {
    if (this.#closed || this.#endQueued) return;
    this.#endQueued = true;
    this.#mux.schedule(this);
  }

  reset(reason = "reset"): void {
    if (this.#closed) return;
    const why = truncateUtf8(reason);
    this.#mux.control({ type: "reset", streamId: this.key, reason: why });
    this.finish(new StreamResetError(why, false));
  }

  // ---- used by Mux ----

  /** Whether a DATA or FIN frame could be sent now. */
  hasFrame(): boolean {
    if (this.#closed) return false;
    if (this.#queued > 0) return this.#credit > 0;
    return this.#endQueued && !this.#finSent;
  }

  /**
   * The next DATA (at most `maxPayload`, within credit; built in `scratch`) or
   * FIN frame, or null.
   */
  takeFrame(scratch: Uint8Array, maxPayload: number): Uint8Array | null {
    if (this.#queued > 0) {
      const size = Math.min(this.#queued, this.#credit, maxPayload);
      if (size === 0) return null;
      const frame = dataFrameIn(scratch, this.key, size);
      let at = HEADER_SIZE;
      while (at < frame.byteLength) {
        const head = this.#queue[0];
        const take = Math.min(head.byteLength - this.#queueOffset, frame.byteLength - at);
        frame.set(head.subarray(this.#queueOffset, this.#queueOffset + take), at);
        at += take;
        this.#queueOffset += take;
        if (this.#queueOffset === head.byteLength) {
          this.#queue.shift();
          this.#queueOffset = 0;
        }
      }
      this.#queued -= size;
      this.#credit -= size;
      return frame;
    }
    if (this.#endQueued && !this.#finSent) {
      this.#finSent = true;
      return encodeFrame({ type: "fin", streamId: this.key });
    }
    return null;
  }

  /** A frame from takeFrame went out. */
  sent(): void {
    if (this.#queued === 0 && this.#needDrain) {
      this.#needDrain = false;
      this.#call(this.ondrain);
    }
    this.#maybeClose();
  }

  /** Add the peer's credit; true if that lets us send. */
  receiveCredit(credit: number): boolean {
    if (this.#credit + credit > MAX_CREDIT) {
      this.reset("protocol error: credit overflow");
      return false;
    }
    this.#credit += credit;
    return this.hasFrame();
  }

  receiveData(data: Uint8Array): void {
    if (this.#finReceived) return this.reset("protocol error: DATA after FIN");
    if (data.byteLength > this.#allowance) {
      return this.reset("protocol error: flow-control window exceeded");
    }
    this.#allowance -= data.byteLength;
    this.#unconsumed += data.byteLength;
    if (this.#ondata && this.#inbox.length === 0) {
      this.#call(this.#ondata, data);
    } else {
      this.#inbox.push(data);
    }
  }

  receiveFin(): void {
    if (this.#finReceived) return this.reset("protocol error: second FIN");
    this.#finReceived = true;
    if (this.#ondata) this.#scheduleDelivery();
  }

  /** Close now: after FIN both ways (no error) or because of a reset. */
  finish(error?: StreamResetError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#inbox.length = 0;
    this.#mux.release(this);
    try {
      this.onclose?.(error);
    } catch {
      // closed either way
    }
  }

  // ---- internals ----

  #scheduleDelivery(): void {
    if (this.#deliveryScheduled) return;
    this.#deliveryScheduled = true;
    queueMicrotask(() => {
      this.#deliveryScheduled = false;
      while (!this.#closed && this.#ondata && this.#inbox.length > 0) {
        this.#call(this.#ondata, this.#inbox.shift()!);
      }
      if (this.#closed || !this.#ondata || this.#inbox.length > 0) return;
      if (this.#finReceived && !this.#endDelivered) {
        this.#endDelivered = true;
        this.#call(this.onend);
        this.#maybeClose();
      }
    });
  }

  #maybeClose(): void {
    if (this.#finSent && this.#endDelivered) this.finish();
  }

  /** Run a user callback; if it throws, that breaks this stream only. */
  #call<A extends unknown[]>(fn: ((...args: A) => void) | null, ...args: A): void {
    if (!fn) return;
    try {
      fn(...args);
    } catch (err) {
      this.reset(`error: ${errorText(err)}`);
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
