// `worker://` (PW-TRANS-013): one connection between two threads of one
// process (Node worker_threads, Web Workers) over a MessagePort.
//
// Why a MessagePort and not a SharedArrayBuffer ring (`shm://`): a port
// is event-driven, so a broker thread serving many clients waits on its
// event loop like any socket server, where a ring needs either a spinning
// reader or Atomics.wait (which blocks the thread, and which browsers
// forbid on the main thread) or one Atomics.waitAsync per connection; a
// port exists in every runtime with workers, where SharedArrayBuffer needs
// cross-origin isolation (COOP/COEP) in browsers; and a closed port or a
// terminated thread is seen as a close, where a ring shared with a dead
// thread just stops. What a port costs per message (a structured clone
// and a cross-thread wake-up) is paid once per tick, not per frame: every
// write of one tick is joined into one ArrayBuffer, transferred (moved,
// not cloned). Batched so, a port moves millions of 64-byte messages a
// second; a ring is up to twice as fast at that, but both are several
// times faster than the pub/sub work per message on either side
// (bench/pubsub/threads.mjs and worker.mjs, bench/RESULTS.md).
//
// The stream on the port: a Uint8Array is bytes; an ArrayBuffer is
// pub/sub records (PW-TRANS-012, worker-pubsub.ts); a positive number is
// credit (bytes the reader has consumed); the negative numbers below are
// control. The writer asks its owner to wait (`write` returns false) while
// more than HIGH_WATER_MARK bytes are not yet consumed; the reader refuses
// to hold more than `maxQueuedBytes` it has not consumed (a writer that
// ignores the wait, or a reader paused for long), closing the connection
// with RESOURCE_EXHAUSTED.
import { PolywireError } from "../errors.js";
import { DIRECT_PUBSUB, type DirectPubSubOffer, type DirectPubSubReceiver } from "../protocol/direct-pubsub.js";
import type { Transport, TransportHandlers } from "./transport.js";
import { PubSubRecords, RecordWriter, RemotePubSub, type RecordLink } from "./worker-pubsub.js";

/** The MessagePort surface used here; Node's worker_threads ports and the Web's both have it. */
export interface WorkerPort {
  postMessage(message: unknown, transfer?: readonly object[]): void;
  addEventListener(type: "message" | "close", listener: (event: { readonly data?: unknown }) => void): void;
  start(): void;
  close(): void;
}

/** The peer has finished writing (a clean end). */
export const END = -1;
/** The peer dropped the connection. */
export const RESET = -2;
/** The listener took the connection (the answer to a dial). */
export const ACCEPTED = -3;
/** The listener took the connection, and its broker takes pub/sub as records (PW-TRANS-012). */
export const ACCEPTED_PUBSUB = -4;

// Above this many bytes written and not yet consumed by the peer, `write` asks the writer to wait.
const HIGH_WATER_MARK = 1 << 20;
// The reader reports consumed bytes in steps of this many.
const CREDIT_STEP = 256 * 1024;
/** Bytes a reader holds unconsumed before it refuses the connection: as a connection's pub/sub budget (PW-PUBSUB-033). */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export class WorkerTransport implements Transport, RecordLink {
  readonly scheme = "worker" as const;
  readonly messageFramed = false;
  readonly remoteAddress: string;
  readonly #port: WorkerPort;
  readonly #maxQueuedBytes: number;
  #handlers: TransportHandlers | undefined;
  #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  #unconsumed = 0;
  #uncredited = 0;
  #wantDrain = false;
  #paused = false;
  #sentEnd = false;
  #peerEnded = false;
  #closed = false;
  // Set once the connection is over; onClose follows when the inbox is delivered.
  #closing: { error: Error | undefined } | undefined;
  #deliverScheduled = false;
  #acceptance: { resolve(): void; reject(error: Error): void } | undefined;
  #records: RecordWriter | undefined;
  // The broker's end: records in, calls on the plane it provided. The client's end: the plane's proxy.
  #pubsub: PubSubRecords | RemotePubSub | undefined;
  #peerTakesRecords = false;

  constructor(port: WorkerPort, remoteAddress: string, maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES) {
    this.#port = port;
    this.remoteAddress = remoteAddress;
    this.#maxQueuedBytes = maxQueuedBytes;
    port.addEventListener("message", (event) => this.#receive(event.data));
    // Node: the other end was closed, or its thread ended.
    port.addEventListener("close", () => this.#lost(new PolywireError("CONNECTION_LOST", "the peer thread closed the connection")));
    port.start();
  }

  get closed(): boolean {
    return this.#closed || this.#closing !== undefined || this.#sentEnd;
  }

  /** The dialing end: resolves once the listener has accepted, rejects if the connection ends first. */
  accepted(): Promise<void> {
    return new Promise((resolve, reject) => (this.#acceptance = { resolve, reject }));
  }

  /** True on the broker's end once it provided a pub/sub plane for records. */
  get takesRecords(): boolean {
    return this.#pubsub instanceof PubSubRecords;
  }

  get records(): RecordWriter {
    if (this.#records === undefined) this.#records = new RecordWriter();
    return this.#records;
  }

  get full(): boolean {
    return this.#unconsumed + this.#outBytes + (this.#records?.length ?? 0) > this.#maxQueuedBytes;
  }

  flushSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flush);
  }

  provide(key: symbol, service: unknown): void {
    if (key === DIRECT_PUBSUB && typeof service === "function") this.#pubsub = new PubSubRecords(this, service as DirectPubSubOffer);
  }

  peerService(key: symbol): unknown {
    if (key !== DIRECT_PUBSUB || !this.#peerTakesRecords || this.closed || this.#pubsub !== undefined) return undefined;
    const offer: DirectPubSubOffer = (receiver: DirectPubSubReceiver) => {
      const remote = new RemotePubSub(this, receiver);
      this.#pubsub = remote;
      return remote;
    };
    return offer;
  }

  attach(handlers: TransportHandlers): void {
    if (this.#handlers !== undefined) throw new Error("transport already attached");
    this.#handlers = handlers;
    this.#scheduleDelivery();
  }

  write(frame: Uint8Array): boolean {
    return this.writev([frame]);
  }

  writev(chunks: readonly Uint8Array[]): boolean {
    if (this.closed) return false;
    for (const chunk of chunks) {
      if (chunk.byteLength === 0) continue;
      this.#out.push(chunk);
      this.#outBytes += chunk.byteLength;
    }
    this.flushSoon();
    const ok = this.#unconsumed + this.#outBytes < HIGH_WATER_MARK;
    if (!ok) this.#wantDrain = true;
    return ok;
  }

  // Every write of this tick in one message, its buffer transferred.
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#closed || this.#closing !== undefined) return;
    this.#flushBytes();
    const records = this.#records;
    if (records !== undefined && records.length > 0) {
      const batch = records.take();
      this.#unconsumed += batch.byteLength;
      this.#post(batch.buffer, [batch.buffer]);
    }
  };

  #flushBytes(): void {
    const size = this.#outBytes;
    if (size === 0) return;
    const chunks = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    let joined: Uint8Array;
    const only = chunks[0] as Uint8Array;
    // The writer gave its chunks away (Transport.write); a chunk that is a whole ArrayBuffer moves as it is.
    if (chunks.length === 1 && only.byteOffset === 0 && only.buffer instanceof ArrayBuffer && only.buffer.byteLength === size) {
      joined = only;
    } else {
      joined = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        joined.set(chunk, at);
        at += chunk.byteLength;
      }
    }
    this.#unconsumed += size;
    this.#post(joined, [joined.buffer]);
  }

  #post(message: unknown, transfer?: readonly object[]): void {
    try {
      this.#port.postMessage(message, transfer);
    } catch (cause) {
      this.#lost(new PolywireError("CONNECTION_LOST", "cannot post to the peer thread", { cause }));
    }
  }

  #receive(data: unknown): void {
    if (this.#closed) return;
    if (data instanceof Uint8Array) {
      if (this.#closing !== undefined) return;
      this.#inbox.push(data);
      this.#inboxBytes += data.byteLength;
      if (this.#inboxBytes > this.#maxQueuedBytes) {
        this.destroy(new PolywireError("RESOURCE_EXHAUSTED", `the peer thread sent ${this.#inboxBytes} bytes this end has not read, more than its ${this.#maxQueuedBytes}`, { limit: this.#maxQueuedBytes }));
        return;
      }
      this.#deliver();
    } else if (data instanceof ArrayBuffer) {
      // Pub/sub records are handled as they come, paused or not, as in-process calls would be.
      try {
        this.#pubsub?.receive(new Uint8Array(data));
      } catch (error) {
        this.destroy(PolywireError.from(error, "MALFORMED_FRAME"));
        return;
      }
      this.#credit(data.byteLength);
    } else if (typeof data === "number" && data > 0) {
      this.#unconsumed = Math.max(0, this.#unconsumed - data);
      if (this.#wantDrain && this.#unconsumed + this.#outBytes < HIGH_WATER_MARK) {
        this.#wantDrain = false;
        this.#handlers?.onDrain();
      }
    } else if (data === ACCEPTED || data === ACCEPTED_PUBSUB) {
      this.#peerTakesRecords = data === ACCEPTED_PUBSUB;
      this.#acceptance?.resolve();
      this.#acceptance = undefined;
    } else if (data === END) {
      this.#peerEnded = true;
      // Answered, so that the end that began the close finishes without a close event (browsers have none).
      if (!this.#sentEnd) {
        this.#flush();
        this.#post(END);
        this.#sentEnd = true;
      }
      this.#finish(undefined);
    } else if (data === RESET) {
      this.#lost(new PolywireError("CONNECTION_LOST", "connection reset by the peer thread"));
    } else {
      this.destroy(new PolywireError("MALFORMED_FRAME", "the peer thread sent something that is not part of a worker:// stream"));
    }
  }

  #scheduleDelivery(): void {
    if (this.#deliverScheduled) return;
    this.#deliverScheduled = true;
    queueMicrotask(() => {
      this.#deliverScheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    const handlers = this.#handlers;
    if (handlers === undefined) return;
    while (!this.#paused && this.#inbox.length > 0 && !this.#closed) {
      const chunk = this.#inbox.shift() as Uint8Array;
      this.#inboxBytes -= chunk.byteLength;
      this.#credit(chunk.byteLength);
      handlers.onData(chunk);
    }
    if (this.#inbox.length === 0 && this.#closing !== undefined && !this.#closed) {
      this.#closed = true;
      handlers.onClose(this.#closing.error);
    }
  }

  // In steps: a writer waits only above HIGH_WATER_MARK, far more than a step, so it is never stranded.
  #credit(consumed: number): void {
    this.#uncredited += consumed;
    if (this.#uncredited < CREDIT_STEP) return;
    this.#post(this.#uncredited);
    this.#uncredited = 0;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#scheduleDelivery();
  }

  end(): void {
    if (this.closed) return;
    this.#flush();
    this.#sentEnd = true;
    this.#post(END);
    if (this.#peerEnded) this.#finish(undefined);
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    if (this.#closing === undefined) this.#post(RESET);
    this.#inbox = [];
    this.#inboxBytes = 0;
    this.#out = [];
    this.#outBytes = 0;
    this.#closing = undefined;
    this.#finish(error);
  }

  // The peer is gone: what arrived before is still read, then onClose with `error`.
  #lost(error: Error): void {
    if (this.#closed || this.#closing !== undefined) return;
    // After an END either way, the port's close is how the end completes.
    this.#finish(this.#peerEnded || this.#sentEnd ? undefined : error);
  }

  #finish(error: Error | undefined): void {
    if (this.#closing !== undefined || this.#closed) return;
    this.#closing = { error };
    this.#acceptance?.reject(error ?? new PolywireError("CONNECTION_LOST", "the connection ended"));
    this.#acceptance = undefined;
    if (this.#pubsub instanceof RemotePubSub) this.#pubsub.close(new PolywireError("CONNECTION_LOST", "the connection is closed", { cause: error }));
    this.#port.close();
    // Unattached, onClose waits for attach.
    this.#scheduleDelivery();
  }
}
