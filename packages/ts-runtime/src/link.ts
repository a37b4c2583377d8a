import { ErrorSchema, FrameKind, type Drain } from "@polywire/proto/session";
import { Connection, type ConnectionOptions, type Frame } from "./connection.js";
import { decodeMessage } from "./decode.js";
import { PolywireError, errorCodeName } from "./errors.js";
import { Emitter } from "./events.js";
import type { RetryPolicy } from "./retry.js";
import { abortError, anySignal, sleep } from "./signal.js";
import type { StatsCollector } from "./stats.js";

/**
 * The life of a client's link to one broker: `connecting` (first dial),
 * `ready`, `reconnecting` (the connection was lost; redialing with
 * backoff), `draining` (the broker announced shutdown; moving elsewhere),
 * `closed` (closed by the application, or reconnecting gave up).
 */
export type LinkState = "connecting" | "ready" | "reconnecting" | "draining" | "closed";

/** Events of a {@link Link}. */
export interface LinkEvents {
  [event: string]: (...args: never[]) => void;
  state: (state: LinkState, previous: LinkState) => void;
  /** Something failed outside any call: a lost connection, a failed reconnect, an error frame no request waits for. */
  error: (error: PolywireError) => void;
}

/** What a {@link Link} needs. */
export interface LinkConfig {
  /** URLs to dial, in the order to try them; asked again before every pass. */
  readonly candidates: () => readonly string[];
  readonly connection: ConnectionOptions;
  readonly retry: RetryPolicy;
  readonly stats: StatsCollector;
}

/** Returns `items` in random order (Fisher-Yates), for PW-TRANS-005. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Dials `urls` one after the other and resolves with the first connection
 * that completes the handshake (PW-TRANS-005). When all fail it rejects with
 * a failure that cannot be retried if any was one (a rejected password must
 * not be retried because another URL was down), else with the last.
 */
export async function dialAny(urls: readonly string[], options: ConnectionOptions, signal: AbortSignal | undefined): Promise<Connection> {
  let failure: PolywireError | undefined;
  for (const url of urls) {
    if (signal?.aborted) throw abortError(signal);
    try {
      return await Connection.connect(url, signal === undefined ? options : { ...options, signal });
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      const reason = PolywireError.from(error, "CONNECTION_LOST");
      if (failure === undefined || failure.retriable) failure = reason;
    }
  }
  throw failure ?? new PolywireError("INVALID_ARGUMENT", "there is no URL to connect to", { retriable: false });
}

interface Waiter {
  resolve(connection: Connection): void;
  reject(error: PolywireError): void;
}

/**
 * One broker connection that stays up: it redials with exponential backoff
 * and full jitter when the connection is lost, and on Drain
 * (PW-SESS-015) moves to an alternate or another candidate URL before the
 * deadline, or reconnects once the broker has closed. Requests wait in
 * {@link acquire} while there is no usable connection.
 */
export class Link extends Emitter<LinkEvents> {
  #state: LinkState = "connecting";
  #current: Connection | undefined;
  #waiters = new Set<Waiter>();
  #closing = false;
  #closeError: PolywireError | undefined;
  #draining: Connection | undefined;
  #lostWhileDraining: PolywireError | undefined;
  readonly #abort = new AbortController();
  readonly #config: LinkConfig;

  constructor(config: LinkConfig) {
    super();
    this.#config = config;
  }

  /** The current state. */
  get state(): LinkState {
    return this.#state;
  }

  /** The connection requests go to, while the link is ready. */
  get ready(): Connection | undefined {
    return this.#state === "ready" ? this.#current : undefined;
  }

  /** The connection in use, ready or draining. */
  get connection(): Connection | undefined {
    return this.#current;
  }

  /** The id of the broker this link is connected to. */
  get brokerId(): string | undefined {
    return this.#current?.welcome.brokerId;
  }

  /** Why the link closed, when it gave up. */
  get closeError(): PolywireError | undefined {
    return this.#closeError;
  }

  #setState(next: LinkState): void {
    const previous = this.#state;
    if (previous === next || previous === "closed") return;
    this.#state = next;
    this.emit("state", next, previous);
  }

  /**
   * Makes the first connection: passes over the candidates with the retry
   * policy between passes. Rejects, and closes the link, when that fails.
   */
  async open(signal?: AbortSignal): Promise<void> {
    const combined = anySignal(signal, this.#abort.signal);
    let connection: Connection;
    try {
      connection = await this.#config.retry.run(() => dialAny(this.#config.candidates(), this.#config.connection, combined), combined);
    } catch (error) {
      const failure = PolywireError.from(error, "CONNECTION_LOST");
      this.#giveUp(failure);
      throw failure;
    }
    if (this.#closing) {
      await connection.close();
      throw this.#closedError();
    }
    this.#install(connection);
  }

  /**
   * Resolves with the ready connection, waiting while the link connects,
   * reconnects or drains. Rejects when `signal` aborts or the link closes.
   */
  acquire(signal?: AbortSignal): Promise<Connection> {
    const ready = this.ready;
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#state === "closed") return Promise.reject(this.#closedError());
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<Connection>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        reject(abortError(signal as AbortSignal));
      };
      const waiter: Waiter = {
        resolve: (c) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(c);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #closedError(): PolywireError {
    return new PolywireError("CONNECTION_LOST", this.#closeError === undefined ? "the client is closed" : `the client gave up reconnecting: ${this.#closeError.message}`, {
      cause: this.#closeError,
      retriable: false,
    });
  }

  #install(connection: Connection): void {
    this.#current = connection;
    connection.on("drain", (notice) => this.#onDrain(connection, notice));
    connection.on("close", (error) => this.#onClose(connection, error));
    connection.on("frame", (frame) => this.#onStray(frame));
    this.#setState("ready");
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w.resolve(connection);
  }

  // An Error answering a request nobody waits for: a produce with acks "none" (PW-LOG-004).
  #onStray(frame: Frame): void {
    if (frame.kind !== FrameKind.ERROR) return;
    let code;
    try {
      code = decodeMessage(ErrorSchema, frame.message).code;
    } catch {
      return;
    }
    const name = errorCodeName(code);
    this.#config.stats.error(name);
    this.emit("error", new PolywireError(name, `the broker rejected a request no one waits for (correlation id ${frame.correlationId})`, { wireCode: code }));
  }

  #onClose(connection: Connection, error: PolywireError | undefined): void {
    if (connection !== this.#current || this.#closing) return;
    this.#current = undefined;
    const lost = new PolywireError("CONNECTION_LOST", `lost the connection to ${connection.url}${error === undefined ? "" : `: ${error.message}`}`, { cause: error });
    this.emit("error", lost);
    if (this.#draining === connection) {
      // A replacement is being dialed already; it decides what happens next.
      this.#lostWhileDraining = lost;
      this.#setState("reconnecting");
      return;
    }
    void this.#reconnect(lost);
  }

  async #reconnect(loss: PolywireError): Promise<void> {
    this.#setState("reconnecting");
    const { retry, stats } = this.#config;
    let failure = loss;
    // The lost connection was attempt 1.
    for (let attempt = 1; ; attempt++) {
      if (!retry.shouldRetry(failure, attempt)) {
        this.#giveUp(failure);
        return;
      }
      try {
        await sleep(retry.delay(attempt, failure), this.#abort.signal);
      } catch {
        return;
      }
      let connection: Connection;
      try {
        connection = await dialAny(this.#config.candidates(), this.#config.connection, this.#abort.signal);
      } catch (error) {
        if (this.#closing) return;
        failure = PolywireError.from(error, "CONNECTION_LOST");
        continue;
      }
      if (this.#closing) {
        void connection.close();
        return;
      }
      stats.reconnects++;
      this.#install(connection);
      return;
    }
  }

  #onDrain(connection: Connection, notice: Drain): void {
    if (connection !== this.#current || this.#closing || this.#draining !== undefined) return;
    this.#draining = connection;
    this.#setState("draining");
    const others = [...new Set([...shuffled(notice.alternateUrls), ...this.#config.candidates().filter((u) => u !== connection.url)])];
    const deadline = AbortSignal.timeout(Math.max(1, notice.deadlineMs));
    void dialAny(others, this.#config.connection, anySignal(deadline, this.#abort.signal)).then(
      (replacement) => {
        this.#draining = undefined;
        this.#lostWhileDraining = undefined;
        if (this.#closing) {
          void replacement.close();
          return;
        }
        this.#config.stats.reconnects++;
        this.#install(replacement);
        // The old connection finishes what is in flight, then closes (PW-SESS-016).
        void connection.close();
      },
      () => {
        this.#draining = undefined;
        const lost = this.#lostWhileDraining;
        this.#lostWhileDraining = undefined;
        // Nothing else answered: once the broker closes at its deadline, reconnect with backoff.
        if (lost !== undefined && !this.#closing) void this.#reconnect(lost);
      },
    );
  }

  #giveUp(error: PolywireError | undefined): void {
    if (this.#state === "closed") return;
    this.#closeError = error;
    this.#setState("closed");
    const closed = this.#closedError();
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w.reject(closed);
    if (error !== undefined) this.emit("error", closed);
  }

  /**
   * Closes the connection (requests in flight finish first, up to
   * `timeoutMs`, default 5 000; Connection.close) and stops reconnecting.
   */
  async close(timeoutMs?: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#abort.abort(new PolywireError("CANCELLED", "the client is closing"));
    const connection = this.#current;
    this.#giveUp(undefined);
    const options = timeoutMs === undefined ? {} : { timeoutMs };
    await Promise.all([connection?.close(options), this.#draining?.close(options)]);
  }
}
