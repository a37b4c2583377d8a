import { ErrorSchema, FrameKind, type Drain } from "@polywire/proto/session";
import { Connection, type ConnectionOptions, type Frame } from "./connection.js";
import { decodeMessage, PolywireError, errorCodeName } from "@polywire/core";
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

/** Events of a {@link BrokerLink}. */
export interface LinkEvents {
  [event: string]: (...args: never[]) => void;
  state: (state: LinkState, previous: LinkState) => void;
  /**
   * About to wait `delayMs` before redial number `attempt` (1 for the first
   * after a loss); `error` is the loss or the previous redial's failure.
   */
  reconnecting: (attempt: number, delayMs: number, error: PolywireError) => void;
  /** Something failed outside any call: a lost connection, reconnecting given up, an error frame no request waits for. */
  error: (error: PolywireError) => void;
}

/** What a {@link BrokerLink} needs. */
export interface LinkConfig {
  /** URLs to dial, in the order to try them; asked again before every pass. */
  readonly candidates: () => readonly string[];
  readonly connection: ConnectionOptions;
  /** Backoff between passes over the candidates: while making the first connection, and after losing one. */
  readonly reconnect: RetryPolicy;
  /** Bound of making the first connection, every pass and backoff included, in ms. */
  readonly connectTimeoutMs: number;
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
 * not be retried because another URL was down), else with the last; its
 * message names every URL and what each failed with.
 */
export async function dialAny(urls: readonly string[], options: ConnectionOptions, signal: AbortSignal | undefined): Promise<Connection> {
  const failures: PolywireError[] = [];
  for (const url of urls) {
    if (signal?.aborted) throw abortError(signal);
    try {
      return await Connection.connect(url, signal === undefined ? options : { ...options, signal });
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      const reason = PolywireError.from(error, "CONNECTION_LOST");
      // Errors the broker sent (a rejected password, TOO_MANY_CONNECTIONS) do not say which broker.
      failures.push(reason.message.includes(url) ? reason : reason.rephrased(`cannot connect to ${url}: ${reason.message}`));
    }
  }
  const chosen = failures.find((f) => !f.retriable) ?? failures.at(-1);
  if (chosen === undefined) throw new PolywireError("INVALID_ARGUMENT", "there is no URL to connect to", { retriable: false });
  throw failures.length === 1 || !chosen.retriable ? chosen : chosen.rephrased(failures.map((f) => f.message).join("; "));
}

/** The failure of a first connection that did not succeed within `connectTimeoutMs`. */
function connectTimedOut(urls: readonly string[], timeoutMs: number, attempts: number, last: PolywireError | undefined): PolywireError {
  if (last === undefined) {
    const where = urls.length === 1 ? urls[0] : `any of ${[...urls].sort().join(", ")}`;
    return new PolywireError("TIMEOUT", `cannot connect to ${where}: no handshake completed within ${timeoutMs} ms (connectTimeoutMs)`);
  }
  return last.rephrased(`${last.message} (${attempts} attempt${attempts === 1 ? "" : "s"} in ${timeoutMs} ms, the connectTimeoutMs bound)`);
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
export class BrokerLink extends Emitter<LinkEvents> {
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
   * Makes the first connection: passes over the candidates with the
   * reconnect backoff between passes, for at most `connectTimeoutMs`.
   * Rejects, and closes the link, when that fails: at once for a failure
   * that cannot be retried (AUTHENTICATION_FAILED, a refused certificate).
   */
  async open(signal?: AbortSignal): Promise<void> {
    let connection: Connection;
    try {
      connection = await this.#firstConnection(signal);
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

  async #firstConnection(signal: AbortSignal | undefined): Promise<Connection> {
    const { reconnect, connectTimeoutMs } = this.#config;
    const deadline = AbortSignal.timeout(connectTimeoutMs);
    const combined = anySignal(signal, this.#abort.signal, deadline) as AbortSignal;
    let failure: PolywireError | undefined;
    let dials = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        if (failure !== undefined) await sleep(reconnect.delay(attempt - 1, failure), combined);
        dials++;
        const urls = this.#config.candidates();
        // A URL that never answers must not take the whole bound from the others (PW-TRANS-005).
        const perDial = Math.max(1, Math.ceil(connectTimeoutMs / Math.max(1, urls.length)));
        return await dialAny(urls, { ...this.#config.connection, connectTimeoutMs: perDial }, combined);
      } catch (error) {
        if (deadline.aborted && !signal?.aborted && !this.#abort.signal.aborted) {
          throw connectTimedOut(this.#config.candidates(), connectTimeoutMs, dials, failure);
        }
        if (combined.aborted) throw abortError(combined);
        failure = PolywireError.from(error, "CONNECTION_LOST");
        if (!reconnect.shouldRetry(failure, attempt)) throw failure;
      }
    }
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
    const { reconnect, stats } = this.#config;
    let failure = loss;
    // The lost connection was attempt 1.
    for (let attempt = 1; ; attempt++) {
      if (!reconnect.shouldRetry(failure, attempt)) {
        this.#giveUp(failure);
        return;
      }
      const delay = reconnect.delay(attempt, failure);
      this.emit("reconnecting", attempt, delay, failure);
      try {
        await sleep(delay, this.#abort.signal);
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
    // A failure that cannot be retried (a refused certificate) is reported as itself.
    if (error !== undefined) this.emit("error", error.retriable ? closed : error);
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
