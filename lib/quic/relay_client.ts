/**
 * A peer's connection to the relay's QUIC listener (relay_wire.ts): asks for
 * the address the relay observes, attaches to a pair, opens spliced streams,
 * and hands out the spliced streams the relay opens towards it.
 */
import type { QuicConnLike } from "../runtime/mod.ts";
import type { ByteStream } from "../tunnel/web_streams.ts";
import {
  ATTACH,
  encodeRequest,
  OBSERVE,
  OPEN,
  readObserved,
  readRequest,
  readStatus,
  SPLICED,
} from "./relay_wire.ts";
import { PrefixReader, withTimeout } from "./stream_reader.ts";

/** How long the relay may take to answer a request. */
const ANSWER_TIMEOUT_MS = 10_000;

/** The relay refused a request; the message is its reason. */
export class RelayRefusedError extends Error {
  override name = "RelayRefusedError";
}

export class RelayLink {
  /** A stream the other peer of a pair opened, with this peer's token for that pair. */
  onspliced: ((token: Uint8Array, stream: ByteStream) => void) | null = null;
  readonly conn: QuicConnLike;

  constructor(conn: QuicConnLike) {
    this.conn = conn;
    this.#acceptSpliced();
  }

  /** Settles when the connection to the relay ends. */
  get closed(): Promise<unknown> {
    return this.conn.closed;
  }

  /** This endpoint's address as the relay sees it. */
  async observe(): Promise<{ address: string; port: number }> {
    const { r } = await this.#request(encodeRequest({ type: OBSERVE }));
    const observed = await withTimeout(readObserved(r), ANSWER_TIMEOUT_MS, "relay");
    r.cancel("done");
    return observed;
  }

  /**
   * Receive the pair's spliced streams on this connection. Resolves once the
   * relay accepted; `ended` settles when the relay drops the pair (its other
   * peer left) or the connection ends.
   */
  async attach(token: Uint8Array): Promise<{ ended: Promise<void>; close(): void }> {
    const { r, writer } = await this.#request(encodeRequest({ type: ATTACH, token }));
    const ended = r.byte().then(() => {}, () => {});
    return {
      ended,
      close: () => {
        writer.close().catch(() => {});
        r.cancel("detached");
      },
    };
  }

  /** A stream spliced to the pair's other peer (its bytes seen by the relay: seal them). */
  async open(token: Uint8Array): Promise<ByteStream> {
    const { r, writer, writable } = await this.#request(encodeRequest({ type: OPEN, token }));
    writer.releaseLock();
    return { readable: r.rest(), writable };
  }

  /** Send a request on a new stream and wait for an ok; rejects with the relay's reason. */
  async #request(
    header: Uint8Array,
  ): Promise<{
    r: PrefixReader;
    writer: WritableStreamDefaultWriter<Uint8Array>;
    writable: WritableStream<Uint8Array>;
  }> {
    const stream = await this.conn.createBidirectionalStream();
    const writer = stream.writable.getWriter();
    const r = new PrefixReader(stream.readable);
    try {
      await writer.write(header);
      const refusal = await withTimeout(readStatus(r), ANSWER_TIMEOUT_MS, "relay");
      if (refusal !== null) throw new RelayRefusedError(refusal);
    } catch (err) {
      writer.abort().catch(() => {});
      r.cancel("failed");
      throw err;
    }
    return { r, writer, writable: stream.writable };
  }

  #acceptSpliced() {
    (async () => {
      for await (const stream of this.conn.incomingBidirectionalStreams) {
        const r = new PrefixReader(stream.readable);
        withTimeout(readRequest(r), ANSWER_TIMEOUT_MS, "relay").then((req) => {
          if (req.type !== SPLICED || !this.onspliced) throw new Error("unexpected stream");
          this.onspliced(req.token, { readable: r.rest(), writable: stream.writable });
        }).catch(() => {
          r.cancel("refused");
          stream.writable.abort().catch(() => {});
        });
      }
    })().catch(() => {});
  }
}
