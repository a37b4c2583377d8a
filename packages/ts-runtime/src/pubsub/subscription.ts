import { PolywireError } from "@polywire/core";
import { checkTimeout } from "../signal.js";
import { Emitter } from "../events.js";
import type { Message } from "./message.js";

/** Options of `client.subscribe`. */
export interface SubscribeOptions {
  /** A queue group: each message goes to one member of the group (PW-PUBSUB-012). */
  readonly queue?: string;
  /**
   * Messages that may wait, at the broker (its `max_pending`, PW-PUBSUB-030)
   * and here, unread by the loop; more are dropped, newest first, and
   * reported as `slowConsumer`. Default 65,536.
   */
  readonly maxPending?: number;
  /** Aborting it closes the subscription. */
  readonly signal?: AbortSignal;
  /** End the subscription after this many messages (PW-PUBSUB-014). */
  readonly afterMessages?: number;
}

/** Messages lost for a subscription that could not keep up. */
export interface SlowConsumerEvent {
  /** How many. */
  readonly dropped: number;
  /** "broker": the broker dropped them and said so (PW-PUBSUB-031); "client": this client's buffer was full. */
  readonly where: "broker" | "client";
}

export interface SubscriptionEvents {
  [event: string]: (...args: never[]) => void;
  /** Messages were dropped for this subscription. */
  slowConsumer: (event: SlowConsumerEvent) => void;
  /**
   * The connection was lost and the subscription made anew on the next one.
   * Messages published while it was away are lost, by design (at-most-once,
   * PW-PUBSUB-026), and sequence numbers start again at 1.
   */
  resubscribed: () => void;
  /** A handler of `client.handle` failed on `message` (its publisher, if it asked, was told, PW-PUBSUB-041). */
  handlerError: (error: unknown, message: Message) => void;
}

/** What a subscription asks of the client's pub/sub side. */
export interface SubscriptionOwner {
  /** Ends the subscription at the broker now (0) or after `after` messages. */
  unsubscribe(subscription: Subscription, after: number): Promise<void>;
  /** The subscription ended here: route nothing more to it. */
  forget(subscription: Subscription): void;
}

/**
 * A subscription: an async iterable of the {@link Message}s whose subject
 * matches its pattern. Leaving a `for await` loop, `close()`, `await using`
 * or the `signal` end it; `unsubscribe({ afterMessages })` lets it end by
 * itself. Messages are buffered up to `maxPending` while the loop is busy.
 */
export class Subscription extends Emitter<SubscriptionEvents> implements AsyncIterable<Message>, AsyncDisposable {
  /** The id the broker knows it by on this connection (PW-PUBSUB-010). */
  readonly id: number;
  readonly pattern: string;
  readonly queue: string;
  readonly maxPending: number;
  /** Resolves once it is active at the broker; rejects if the broker refused it. */
  readonly ready: Promise<void>;
  /** Resolves once it has ended (a loop still reads what is buffered). */
  readonly closed: Promise<void>;
  readonly #owner: SubscriptionOwner;
  #buffer: Message[] = [];
  #head = 0;
  #waiter: ((result: IteratorResult<Message>) => void) | undefined;
  #failWaiter: ((error: PolywireError) => void) | undefined;
  #ended = false;
  #error: PolywireError | undefined;
  #dropped = 0;
  #missed = 0;
  #lastSequence = 0;
  #received = 0;
  #stopAt = Number.POSITIVE_INFINITY;
  #resolveReady!: () => void;
  #rejectReady!: (error: PolywireError) => void;
  #resolveClosed!: () => void;
  // drain() calls waiting for the loop to take what is buffered.
  readonly #onDrained: Array<() => void> = [];

  constructor(owner: SubscriptionOwner, id: number, pattern: string, queue: string, maxPending: number) {
    super();
    this.#owner = owner;
    this.id = id;
    this.pattern = pattern;
    this.queue = queue;
    this.maxPending = maxPending;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A refusal also ends iteration with the error; an unobserved `ready` must not be an unhandled rejection.
    this.ready.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Messages dropped for it, at the broker (SlowConsumer notices) and in this client's buffer. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Messages missed as seen by sequence gaps (PW-PUBSUB-024); equals the broker's drops once their notices arrived. */
  get missed(): number {
    return this.#missed;
  }

  /** Messages waiting in the buffer. */
  get pending(): number {
    return this.#buffer.length - this.#head;
  }

  get active(): boolean {
    return !this.#ended;
  }

  /** Ends it at the broker now, or after `afterMessages` more messages. */
  async unsubscribe(options: { afterMessages?: number } = {}): Promise<void> {
    const after = options.afterMessages ?? 0;
    if (!Number.isInteger(after) || after < 0 || after > 0xffff_ffff) throw new PolywireError("INVALID_ARGUMENT", `afterMessages must be an integer from 0 to 2^32-1, got ${String(after)}`);
    if (this.#ended) return;
    if (after === 0) {
      this.end(undefined);
      await this.#owner.unsubscribe(this, 0);
      return;
    }
    this.#stopAt = this.#received + after;
    await this.#owner.unsubscribe(this, after);
  }

  /**
   * Ends it at the broker now and resolves once the loop has taken every
   * message buffered before that (NATS's drain): nothing is lost of what
   * already arrived. Rejects with TIMEOUT after `timeoutMs` (default: no limit).
   */
  async drain(options: { timeoutMs?: number } = {}): Promise<void> {
    const drained = new Promise<void>((resolve) => {
      if (this.pending === 0) resolve();
      else this.#onDrained.push(resolve);
    });
    await this.close();
    if (options.timeoutMs === undefined) return drained;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PolywireError("TIMEOUT", `${this.pending} messages still buffered after ${options.timeoutMs} ms`)), options.timeoutMs);
    });
    try {
      await Promise.race([drained, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A handler of `client.handle` failed on `message`: tells the `handlerError` listeners. */
  handlerFailed(error: unknown, message: Message): void {
    this.emit("handlerError", error, message);
  }

  /** Ends it now; buffered messages are still read by a running loop. */
  close(): Promise<void> {
    return this.unsubscribe();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- driven by the client's pub/sub side

  /** The broker confirmed it (PW-PUBSUB-011). */
  activated(resubscribed: boolean): void {
    this.#resolveReady();
    if (resubscribed) {
      this.#lastSequence = 0;
      this.emit("resubscribed");
    }
  }

  /** One Delivery for it. */
  deliver(message: Message): void {
    if (this.#ended) return;
    const gap = message.sequence - this.#lastSequence - 1;
    if (gap > 0) this.#missed += gap;
    this.#lastSequence = message.sequence;
    this.#received++;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#failWaiter = undefined;
      waiter({ value: message, done: false });
    } else if (this.pending >= this.maxPending) {
      this.#dropped++;
      this.emit("slowConsumer", { dropped: 1, where: "client" });
    } else {
      this.#buffer.push(message);
    }
    // The broker ends it by itself after `afterMessages` (PW-PUBSUB-014).
    if (this.#received >= this.#stopAt) this.end(undefined);
  }

  /** A SlowConsumer notice for it (PW-PUBSUB-031). */
  notice(dropped: number): void {
    this.#dropped += dropped;
    this.emit("slowConsumer", { dropped, where: "broker" });
  }

  /**
   * It ended: by the application, by the broker's refusal (`error`), or
   * because the client closed. A loop reads what is buffered, then stops
   * (or throws `error`).
   */
  end(error: PolywireError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    if (error !== undefined) this.#rejectReady(error);
    else this.#resolveReady();
    this.#owner.forget(this);
    const waiter = this.#waiter;
    const fail = this.#failWaiter;
    this.#waiter = undefined;
    this.#failWaiter = undefined;
    if (error !== undefined && fail !== undefined) fail(error);
    else waiter?.({ value: undefined, done: true });
    this.#resolveClosed();
  }

  /**
   * The next message, for code that reads one at a time rather than with
   * `for await`. Rejects with TIMEOUT when none arrives within `timeoutMs`,
   * CANCELLED when `signal` aborts (the subscription stays), and, once the
   * subscription has ended and its buffer is read, with the error that
   * ended it or CANCELLED (it was closed, or reached `afterMessages`).
   */
  receive(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Message> {
    const { timeoutMs, signal } = options;
    checkTimeout(timeoutMs);
    if (this.pending === 0 && !this.#ended && signal?.aborted === true) return Promise.reject(PolywireError.from(signal.reason, "CANCELLED"));
    const next = this.#next();
    if (this.#waiter === undefined) return next.then((r) => r.done === true ? Promise.reject(this.#endedError()) : r.value);
    return new Promise<Message>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      // Gives up the wait; a message arriving later stays buffered for the next read.
      const giveUp = (error: PolywireError): void => {
        settle();
        this.#waiter = undefined;
        this.#failWaiter = undefined;
        reject(error);
      };
      const onAbort = (): void => giveUp(PolywireError.from(signal?.reason, "CANCELLED"));
      if (timeoutMs !== undefined) timer = setTimeout(() => giveUp(new PolywireError("TIMEOUT", `no message within ${timeoutMs} ms`)), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      next.then((r) => {
        settle();
        if (r.done === true) reject(this.#endedError());
        else resolve(r.value);
      }, (error: unknown) => {
        settle();
        reject(PolywireError.from(error));
      });
    });
  }

  #endedError(): PolywireError {
    return this.#error ?? new PolywireError("CANCELLED", `the subscription to ${this.pattern} has ended`);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => this.#next(),
      return: async () => {
        // The loop left: what it did not take is abandoned, and drain() has nothing left to wait for.
        for (const resolve of this.#onDrained.splice(0)) resolve();
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  #next(): Promise<IteratorResult<Message>> {
    if (this.pending === 0 && this.#onDrained.length > 0) for (const resolve of this.#onDrained.splice(0)) resolve();
    if (this.pending > 0) {
      const message = this.#buffer[this.#head] as Message;
      this.#buffer[this.#head++] = undefined as unknown as Message;
      // Compact now and then so the buffer does not grow without bound.
      if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value: message, done: false });
    }
    if (this.#ended) {
      return this.#error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.#error);
    }
    if (this.#waiter !== undefined) return Promise.reject(new PolywireError("INVALID_ARGUMENT", "a subscription is read by one loop at a time"));
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#failWaiter = reject;
    });
  }
}
