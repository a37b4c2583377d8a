import { FrameKind } from "@polywire/proto/session";
import { errorFromFrame, PolywireError } from "@polywire/core";
import type { Frame } from "@polywire/wasm-codec";
import type { RequestOptions } from "./connection-options.js";

/** One request on its way: queued for a slot, or sent and awaiting its answer. */
interface Pending {
  id: number;
  readonly kind: number;
  readonly message: Uint8Array;
  readonly payload: Uint8Array | undefined;
  readonly expectResponse: boolean;
  /** Counts towards max_in_flight; Pings do not (PW-SESS-025). */
  readonly counted: boolean;
  resolve(frame: Frame | undefined): void;
  reject(error: PolywireError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  sent: boolean;
  /** A stream (a call, §10): every frame on its id goes here until it returns true, its terminal event. */
  readonly stream: StreamHandler | undefined;
}

/** What a stream on one correlation id does with the broker's frames (a call, §10). */
export interface StreamHandler {
  /** Called once the stream's first frame is written, with its correlation id. */
  opened(id: number): void;
  /** A frame the broker sent on the stream's id; returns true when it ends the stream. */
  frame(frame: Frame): boolean;
  /** The stream ended before its terminal event: the connection went, or it was never sent. */
  failed(error: PolywireError): void;
}

/** What a request sent at once that expects no answer resolves with. */
export const SENT: Promise<undefined> = Promise.resolve(undefined);

/** Writes one request frame on the connection. */
export type WriteRequest = (kind: number, correlationId: number, message: Uint8Array, payload: Uint8Array | undefined) => void;

/**
 * The requests of one connection matched with their answers by correlation
 * id (responses may come in any order, PW-FRAME-012): odd ids for this
 * client's requests (PW-FRAME-010), at most `max_in_flight` awaiting an
 * answer with the others queued locally (PW-LIM-002; a Ping never queues,
 * PW-SESS-025), each with its timeout and abort signal.
 */
export class Correlation {
  readonly #write: WriteRequest;
  readonly #pending = new Map<number, Pending>();
  #queue: Pending[] = [];
  #awaiting = 0;
  #maxInFlight: number;
  #nextId = 1;
  #open = true;
  #idleWaiters: Array<() => void> = [];

  constructor(write: WriteRequest, maxInFlight: number) {
    this.#write = write;
    this.#maxInFlight = maxInFlight;
  }

  /** Requests sent and awaiting a response, not counting those queued locally nor Pings. */
  get awaiting(): number {
    return this.#awaiting;
  }

  /** True when no request is sent and unanswered or queued. */
  get idle(): boolean {
    return this.#awaiting === 0 && this.#queue.length === 0;
  }

  /** Starts numbering after the handshake's id 1, with the broker's `max_in_flight`. */
  open(maxInFlight: number): void {
    this.#maxInFlight = maxInFlight;
    this.#nextId = 3;
  }

  /**
   * Sends a request that expects no answer at once, when nothing waits for
   * a slot before it and a slot is free (as `add` would); returns false,
   * sending nothing, when it would have to wait. Nothing is allocated for
   * it: there is nothing to wait for.
   */
  sendNow(kind: number, message: Uint8Array, payload: Uint8Array | undefined): boolean {
    if (this.#awaiting >= this.#maxInFlight || this.#queue.length > 0) return false;
    this.#write(kind, this.#takeId(), message, payload);
    return true;
  }

  /** Sends `kind` now or once a slot frees; resolves with the answer (undefined when none is expected). */
  add(kind: number, message: Uint8Array, payload: Uint8Array | undefined, options: RequestOptions, defaultTimeoutMs: number): Promise<Frame | undefined> {
    const signal = options.signal;
    return new Promise<Frame | undefined>((resolve, reject) => {
      const pending: Pending = {
        id: 0, kind, message, payload, expectResponse: options.expectResponse ?? true, counted: kind !== FrameKind.PING,
        resolve, reject, timer: undefined, signal, onAbort: undefined, sent: false, stream: undefined,
      };
      const sendNow = !pending.counted || (this.#awaiting < this.#maxInFlight && this.#queue.length === 0);
      // Sent now and expecting no answer (a publish without ack), it is settled by sending: no timer or listener to set and clear.
      if (sendNow && !pending.expectResponse) {
        this.#send(pending);
        return;
      }
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      if (timeoutMs > 0 && timeoutMs !== Infinity) {
        pending.timer = setTimeout(() => this.#abandon(pending, new PolywireError("TIMEOUT", `request of kind ${kind} timed out after ${timeoutMs} ms`)), timeoutMs);
      }
      if (signal !== undefined) {
        pending.onAbort = () => this.#abandon(pending, PolywireError.from(signal.reason, "CANCELLED"));
        signal.addEventListener("abort", pending.onAbort, { once: true });
      }
      // A Ping never waits for a slot: keepalive must work on a busy connection (PW-SESS-025).
      if (sendNow) this.#send(pending);
      else this.#queue.push(pending);
    });
  }

  /**
   * Opens a stream: sends its first frame now or once a slot frees, and
   * hands every frame on its id to `handler` until the handler says it
   * ended, holding the id and a max_in_flight slot until then (a call
   * holds both on the broker too, PW-RPC-012). No timeout: the stream's
   * owner has its own (a call's deadline).
   */
  stream(kind: number, message: Uint8Array, payload: Uint8Array | undefined, handler: StreamHandler): () => void {
    const pending: Pending = {
      id: 0, kind, message, payload, expectResponse: true, counted: true,
      resolve: () => {}, reject: (error) => handler.failed(error), timer: undefined, signal: undefined, onAbort: undefined, sent: false, stream: handler,
    };
    if (this.#awaiting < this.#maxInFlight && this.#queue.length === 0) this.#send(pending);
    else this.#queue.push(pending);
    // Ending it sooner: its frames are no longer handed over, its slot is free.
    return () => this.#abandon(pending, new PolywireError("CANCELLED", "the stream was ended by its owner"));
  }

  /**
   * An answer (odd correlation id) from the broker: settles its request,
   * rejecting with the broker's error for an Error frame. False when no
   * request waits for it (a late answer after a timeout, or an Error to a
   * request sent without expecting an answer).
   */
  answer(frame: Frame): boolean {
    const pending = this.#pending.get(frame.correlationId);
    if (pending === undefined) return false;
    if (pending.stream !== undefined) {
      if (pending.stream.frame(frame)) this.#settle(pending);
      return true;
    }
    this.#settle(pending);
    if (frame.kind === FrameKind.ERROR) pending.reject(errorFromFrame(frame));
    else pending.resolve(frame);
    return true;
  }

  /** Resolves once no request is awaiting an answer or queued. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Fails every request with `error` and sends no more; idle waiters go on. */
  close(error: PolywireError): void {
    this.#open = false;
    const pending = [...this.#pending.values(), ...this.#queue];
    this.#pending.clear();
    this.#queue = [];
    this.#awaiting = 0;
    for (const p of pending) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      if (p.onAbort !== undefined) p.signal?.removeEventListener("abort", p.onAbort);
      p.reject(error);
    }
    this.#notifyIdle();
  }

  #takeId(): number {
    let id = this.#nextId;
    while (this.#pending.has(id)) id = (id + 2) >>> 0;
    this.#nextId = (id + 2) >>> 0;
    return id;
  }

  #send(pending: Pending): void {
    pending.sent = true;
    const id = this.#takeId();
    pending.id = id;
    if (!pending.expectResponse) {
      // A real id, so that an Error the broker may still send (PW-LOG-004) reaches the `frame` event.
      this.#write(pending.kind, id, pending.message, pending.payload);
      this.#settle(pending);
      pending.resolve(undefined);
      return;
    }
    this.#pending.set(id, pending);
    if (pending.counted) this.#awaiting++;
    this.#write(pending.kind, id, pending.message, pending.payload);
    pending.stream?.opened(id);
  }

  #settle(pending: Pending): void {
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    if (pending.onAbort !== undefined) pending.signal?.removeEventListener("abort", pending.onAbort);
    if (pending.sent && pending.expectResponse && this.#pending.delete(pending.id) && pending.counted) {
      this.#awaiting--;
      this.#pump();
    }
    if (this.idle) this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #abandon(pending: Pending, error: PolywireError): void {
    if (!pending.sent) {
      const index = this.#queue.indexOf(pending);
      if (index >= 0) this.#queue.splice(index, 1);
    }
    this.#settle(pending);
    pending.reject(error);
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#awaiting < this.#maxInFlight && this.#open) {
      this.#send(this.#queue.shift() as Pending);
    }
  }
}
