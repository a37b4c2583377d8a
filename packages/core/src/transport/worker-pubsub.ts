// PW-TRANS-012 between threads, in the record layout of PW-TRANS-014: over `worker://` the pub/sub plane's calls
// and Deliveries travel as compact records on the connection's own port,
// in order with each other, instead of as protobuf frames through the
// session. The records of one tick go in one transferred ArrayBuffer; a
// Delivery's body is read in place from it. The client's side is
// {@link RemotePubSub}, a DirectPubSub whose calls return promises; the
// broker's is {@link PubSubRecords}, which makes the calls on the offer the
// broker provided, as an in-process client would.
import { PolywireError, type PolywireErrorCode } from "../errors.js";
import { checkHeaderKeys, checkPublishSubject, checkReplyTo } from "../protocol/subject.js";
import type { DirectHeaders, DirectPubSub, DirectPubSubOffer, DirectPubSubReceiver } from "../protocol/direct-pubsub.js";

const OPEN = 1;
const SUBSCRIBE = 2;
const UNSUBSCRIBE = 3;
const PUBLISH = 4;
const FLUSH = 5;
const DONE = 6;
const FAILED = 7;
const DELIVER = 8;
const SLOW = 9;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NO_HEADERS: DirectHeaders = Object.freeze([]) as DirectHeaders;

// The last short text read, bytes and string: a stream of publishes or
// deliveries repeats its subject, and reusing the string skips building it
// (and lets the subject index's cache find it by the same string).
const lastBytes = new Uint8Array(64);
let lastLength = -1;
let lastText = "";

/** Appends records to one growing buffer; `take` hands it over. */
export class RecordWriter {
  #bytes = new Uint8Array(4096);
  #view = new DataView(this.#bytes.buffer);
  #at = 0;

  get length(): number {
    return this.#at;
  }

  #room(n: number): void {
    if (this.#at + n <= this.#bytes.byteLength) return;
    let size = this.#bytes.byteLength * 2;
    while (size < this.#at + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  u8(v: number): this {
    this.#room(1);
    this.#bytes[this.#at++] = v;
    return this;
  }

  u32(v: number): this {
    this.#room(4);
    this.#view.setUint32(this.#at, v, true);
    this.#at += 4;
    return this;
  }

  f64(v: number): this {
    this.#room(8);
    this.#view.setFloat64(this.#at, v, true);
    this.#at += 8;
    return this;
  }

  str(s: string): this {
    // Room for the worst case (3 bytes per UTF-16 unit); ASCII, the usual case, is copied by hand.
    this.#room(4 + 3 * s.length);
    const start = this.#at + 4;
    let at = start;
    const bytes = this.#bytes;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        at = start + encoder.encodeInto(s, bytes.subarray(start)).written;
        break;
      }
      bytes[at++] = c;
    }
    this.#view.setUint32(this.#at, at - start, true);
    this.#at = at;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.u32(b.byteLength);
    this.#room(b.byteLength);
    this.#bytes.set(b, this.#at);
    this.#at += b.byteLength;
    return this;
  }

  headers(h: DirectHeaders): this {
    this.u32(h.length);
    for (const [key, value] of h) this.str(key).bytes(value);
    return this;
  }

  /** The records written so far, in a buffer of their own (to transfer); the writer starts afresh. */
  take(): Uint8Array {
    const out = this.#bytes.slice(0, this.#at);
    this.#at = 0;
    return out;
  }
}

/** Reads records from one received buffer; any overrun is MALFORMED_FRAME. */
class RecordReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get more(): boolean {
    return this.at < this.#bytes.byteLength;
  }

  #need(n: number): number {
    const at = this.at;
    if (at + n > this.#bytes.byteLength) throw new PolywireError("MALFORMED_FRAME", "a pub/sub record from the peer thread is cut short");
    this.at = at + n;
    return at;
  }

  u8(): number {
    return this.#bytes[this.#need(1)] as number;
  }

  u32(): number {
    return this.#view.getUint32(this.#need(4), true);
  }

  f64(): number {
    return this.#view.getFloat64(this.#need(8), true);
  }

  str(): string {
    const n = this.u32();
    if (n === 0) return "";
    const at = this.#need(n);
    const bytes = this.#bytes;
    if (n <= 64) {
      if (n === lastLength) {
        let same = true;
        for (let i = 0; i < n; i++) {
          if (bytes[at + i] !== lastBytes[i]) {
            same = false;
            break;
          }
        }
        if (same) return lastText;
      }
      let s = "";
      for (let i = at; i < at + n; i++) {
        const c = bytes[i] as number;
        if (c >= 0x80) return decoder.decode(bytes.subarray(at, at + n));
        s += String.fromCharCode(c);
      }
      lastBytes.set(bytes.subarray(at, at + n));
      lastLength = n;
      lastText = s;
      return s;
    }
    return decoder.decode(bytes.subarray(at, at + n));
  }

  /**
   * Bytes, copied out of the batch: a body or header value kept (queued at
   * the broker, buffered in a subscription) must not keep the whole batch.
   */
  copy(): Uint8Array {
    const n = this.u32();
    const at = this.#need(n);
    return this.#bytes.slice(at, at + n);
  }

  headers(): DirectHeaders {
    const n = this.u32();
    if (n === 0) return NO_HEADERS;
    const out: Array<readonly [string, Uint8Array]> = [];
    for (let i = 0; i < n; i++) out.push([this.str(), this.copy()]);
    return out;
  }
}

/** What both sides need of the transport: where to append records, and a send once the tick is over. */
export interface RecordLink {
  readonly records: RecordWriter;
  /** Schedules the records written so far to be posted (once per tick). */
  flushSoon(): void;
  /** True while the peer has more than its bound of what was sent to it unconsumed: a call then fails with RESOURCE_EXHAUSTED. */
  readonly full?: boolean;
}

interface Waiting {
  resolve(value: number): void;
  reject(error: PolywireError): void;
}

/** The client's side between threads: DirectPubSub calls as records, answers as promises. */
export class RemotePubSub implements DirectPubSub {
  // The body is copied into the records when `publish` is called.
  readonly byReference = false;
  readonly #link: RecordLink;
  readonly #receiver: DirectPubSubReceiver;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #closed: PolywireError | undefined;
  // The last subject that passed the grammar: a publisher usually repeats it.
  #checked = "";

  constructor(link: RecordLink, receiver: DirectPubSubReceiver) {
    this.#link = link;
    this.#receiver = receiver;
    link.records.u8(OPEN);
    link.flushSoon();
  }

  subscribe(subscriptionId: number, pattern: string, queueGroup: string, maxPending: number): Promise<void> {
    return this.#call((w, id) => w.u8(SUBSCRIBE).u32(id).u32(subscriptionId).str(pattern).str(queueGroup).u32(maxPending)).then(() => undefined);
  }

  unsubscribe(subscriptionId: number, afterMessages: number): Promise<void> {
    return this.#call((w, id) => w.u8(UNSUBSCRIBE).u32(id).u32(subscriptionId).u32(afterMessages)).then(() => undefined);
  }

  /** Routed by the broker's thread later: checked here, so that a publish without ack fails where it is made (PW-PUBSUB-022). */
  publish(subject: string, replyTo: string, headers: DirectHeaders, body: Uint8Array, ack = true): Promise<number> | undefined {
    if (this.#closed !== undefined) throw this.#closed;
    this.#room();
    if (subject !== this.#checked) {
      checkPublishSubject(subject);
      this.#checked = subject;
    }
    checkReplyTo(replyTo);
    if (headers.length > 0) checkHeaderKeys(headers.map(([key]) => ({ key })));
    if (!ack) {
      this.#link.records.u8(PUBLISH).u32(0).str(subject).str(replyTo).headers(headers).bytes(body);
      this.#link.flushSoon();
      return undefined;
    }
    return this.#call((w, id) => w.u8(PUBLISH).u32(id).str(subject).str(replyTo).headers(headers).bytes(body));
  }

  /** Resolves once the broker's thread has handled every record sent before. */
  flush(): Promise<void> {
    return this.#call((w, id) => w.u8(FLUSH).u32(id)).then(() => undefined);
  }

  // The broker's thread is that far behind: the call is refused, not queued without bound ("full").
  #room(): void {
    if (this.#link.full === true) throw new PolywireError("RESOURCE_EXHAUSTED", "the broker's thread has not consumed what this connection sent it, more than its bound; try again later");
  }

  #call(write: (w: RecordWriter, id: number) => void): Promise<number> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    try {
      this.#room();
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#nextId;
    this.#nextId = id === 0xffff_ffff ? 1 : id + 1;
    write(this.#link.records, id);
    this.#link.flushSoon();
    return new Promise((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
  }

  /** Records from the broker's thread. */
  receive(bytes: Uint8Array): void {
    const r = new RecordReader(bytes);
    while (r.more) {
      const op = r.u8();
      if (op === DELIVER) {
        this.#receiver.deliver(r.u32(), r.f64(), r.str(), r.str(), r.headers(), r.copy());
      } else if (op === SLOW) {
        this.#receiver.slowConsumer(r.u32(), r.f64());
      } else if (op === DONE || op === FAILED) {
        const id = r.u32();
        const waiting = this.#waiting.get(id);
        this.#waiting.delete(id);
        if (op === DONE) {
          waiting?.resolve(r.f64());
        } else {
          const [code, message, limit] = [r.str() as PolywireErrorCode, r.str(), r.f64()];
          waiting?.reject(new PolywireError(code, message, limit > 0 ? { limit } : {}));
        }
      } else {
        throw new PolywireError("MALFORMED_FRAME", `unknown pub/sub record ${op} from the broker's thread`);
      }
    }
  }

  /** The connection ended: every call waiting fails with `error`, and every later one. */
  close(error: PolywireError): void {
    this.#closed = error;
    for (const w of this.#waiting.values()) w.reject(error);
    this.#waiting.clear();
  }
}

/** The broker's side between threads: records in, calls on the broker's offer, answers and Deliveries out. */
export class PubSubRecords {
  readonly #link: RecordLink;
  readonly #offer: DirectPubSubOffer;
  #plane: DirectPubSub | undefined;
  #refusal: PolywireError | undefined;
  readonly #receiver: DirectPubSubReceiver;

  constructor(link: RecordLink, offer: DirectPubSubOffer) {
    this.#link = link;
    this.#offer = offer;
    this.#receiver = {
      deliver: (subscriptionId, sequence, subject, replyTo, headers, body) => {
        link.records.u8(DELIVER).u32(subscriptionId).f64(sequence).str(subject).str(replyTo).headers(headers).bytes(body);
        link.flushSoon();
      },
      slowConsumer: (subscriptionId, dropped) => {
        link.records.u8(SLOW).u32(subscriptionId).f64(dropped);
        link.flushSoon();
      },
    };
  }

  #open(plane: DirectPubSub | undefined): DirectPubSub {
    if (plane === undefined) throw this.#refusal ?? new PolywireError("HANDSHAKE_REQUIRED", "pub/sub records before OPEN");
    return plane;
  }

  /** Records from the client's thread, handled in order; each call's answer follows its effects. */
  receive(bytes: Uint8Array): void {
    const r = new RecordReader(bytes);
    while (r.more) {
      const op = r.u8();
      if (op === OPEN) {
        try {
          this.#plane = this.#offer(this.#receiver);
        } catch (error) {
          this.#refusal = PolywireError.from(error);
        }
        continue;
      }
      const id = r.u32();
      const plane = this.#plane;
      let value = 0;
      try {
        // Each record is read whole before it is acted on, so that a refused call leaves the reader at the next one.
        switch (op) {
          case SUBSCRIBE: {
            const sub = r.u32(), pattern = r.str(), queue = r.str(), maxPending = r.u32();
            this.#open(plane).subscribe(sub, pattern, queue, maxPending);
            break;
          }
          case UNSUBSCRIBE: {
            const sub = r.u32(), after = r.u32();
            this.#open(plane).unsubscribe(sub, after);
            break;
          }
          case PUBLISH: {
            const subject = r.str(), replyTo = r.str(), headers = r.headers(), body = r.copy();
            value = this.#open(plane).publish(subject, replyTo, headers, body) as number;
            break;
          }
          case FLUSH:
            break;
          default:
            throw new PolywireError("MALFORMED_FRAME", `unknown pub/sub record ${op} from the client's thread`);
        }
        // A publish without ack (id 0) has no answer, as over frames (PW-PUBSUB-021).
        if (id !== 0) this.#link.records.u8(DONE).u32(id).f64(value);
      } catch (error) {
        const failure = PolywireError.from(error);
        if (failure.code === "MALFORMED_FRAME") throw failure;
        if (id !== 0) this.#link.records.u8(FAILED).u32(id).str(failure.code).str(failure.message).f64(Number(failure.limit ?? 0));
      }
      this.#link.flushSoon();
    }
  }
}
