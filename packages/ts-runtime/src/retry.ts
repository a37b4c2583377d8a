import { PolywireError } from "@polywire/core";
import { sleep } from "./signal.js";

/**
 * How failed operations are retried: reconnects, producer batches, fetches,
 * metadata and offset lookups. Delays grow exponentially with full jitter:
 * the n-th retry waits a uniformly random time in
 * `[0, min(maxDelayMs, initialDelayMs * multiplier^(n-1))]`, and at least the
 * broker's `retry_after_ms` hint when it sent one (PW-ERR-002).
 */
export interface RetryOptions {
  /** Upper bound of the first delay, in ms. Default 100. */
  initialDelayMs?: number;
  /** Cap of every delay, in ms. Default 10 000 (a client's `reconnect`: 5 000). */
  maxDelayMs?: number;
  /** Growth of the delay bound per attempt; at least 1. Default 2. */
  multiplier?: number;
  /**
   * Attempts per operation, the first included: 1 means never retry.
   * `Infinity` retries for ever. Default 10. In a client's `reconnect`
   * policy a lost connection counts as the first attempt, so the client
   * redials at most `maxAttempts - 1` times per outage before it gives up
   * and closes; there the default is `Infinity`.
   */
  maxAttempts?: number;
  /**
   * Asked after each failure with the error and the number of attempts made
   * so far (1 after the first failure); return false to stop. Only asked
   * while attempts remain. Default: `error.retriable` (PW-SESS-013).
   */
  shouldRetry?: (error: PolywireError, attempt: number) => boolean;
}

/** The defaults of {@link RetryOptions}: for requests, produce batches and fetches. */
export const RETRY_DEFAULTS = { initialDelayMs: 100, maxDelayMs: 10_000, multiplier: 2, maxAttempts: 10 } as const;

/**
 * The defaults of a client's `reconnect` policy: redial for as long as the
 * client is open, waiting at most 5 s between attempts.
 */
export const RECONNECT_DEFAULTS = { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2, maxAttempts: Infinity } as const;

function positive(option: string, name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < min) {
    throw new PolywireError("INVALID_ARGUMENT", `${option}.${name} must be a number of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * A validated {@link RetryOptions}: computes backoff delays and decides
 * whether to try again.
 */
export class RetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly maxAttempts: number;
  readonly #hook: ((error: PolywireError, attempt: number) => boolean) | undefined;

  /**
   * Validates `options`, taking unset fields from `defaults` (the retry
   * defaults above unless given); `name` prefixes the option names in
   * INVALID_ARGUMENT messages ("retry", "reconnect").
   */
  constructor(options: RetryOptions = {}, defaults: Required<Omit<RetryOptions, "shouldRetry">> = RETRY_DEFAULTS, name = "retry") {
    this.initialDelayMs = positive(name, "initialDelayMs", options.initialDelayMs, defaults.initialDelayMs, 0);
    this.maxDelayMs = positive(name, "maxDelayMs", options.maxDelayMs, defaults.maxDelayMs, 0);
    this.multiplier = positive(name, "multiplier", options.multiplier, defaults.multiplier, 1);
    const attempts = positive(name, "maxAttempts", options.maxAttempts, defaults.maxAttempts, 1);
    if (attempts !== Infinity && !Number.isInteger(attempts)) {
      throw new PolywireError("INVALID_ARGUMENT", `${name}.maxAttempts must be an integer or Infinity, got ${attempts}`);
    }
    this.maxAttempts = attempts;
    if (options.shouldRetry !== undefined && typeof options.shouldRetry !== "function") {
      throw new PolywireError("INVALID_ARGUMENT", `${name}.shouldRetry must be a function`);
    }
    this.#hook = options.shouldRetry;
  }

  /** The upper bound of the delay before retry number `retry` (1-based). */
  bound(retry: number): number {
    const exponent = Math.max(0, retry - 1);
    return Math.min(this.maxDelayMs, this.initialDelayMs * this.multiplier ** exponent);
  }

  /**
   * The delay before retry number `retry` (1-based): full jitter below
   * {@link bound}, raised to the broker's `retryAfterMs` hint when larger.
   */
  delay(retry: number, error?: PolywireError, random: () => number = Math.random): number {
    const jittered = random() * this.bound(retry);
    return Math.max(jittered, error?.retryAfterMs ?? 0);
  }

  /**
   * Whether to try again after `attempt` attempts failed, the last with
   * `error`: attempts must remain and the hook (default `error.retriable`)
   * must agree. A hook that throws counts as "no", so a bug in it stops
   * retries instead of looping.
   */
  shouldRetry(error: PolywireError, attempt: number): boolean {
    if (attempt >= this.maxAttempts) return false;
    if (this.#hook === undefined) return error.retriable;
    try {
      return this.#hook(error, attempt) === true;
    } catch {
      return false;
    }
  }

  /**
   * Runs `operation` until it succeeds, a failure is not retried, or
   * `signal` aborts (which also cuts a backoff short). Rejects with the last
   * failure as a `PolywireError`.
   */
  async run<T>(operation: (attempt: number) => Promise<T>, signal?: AbortSignal, onRetry?: (error: PolywireError) => void): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation(attempt);
      } catch (cause) {
        const error = PolywireError.from(cause);
        if (signal?.aborted || !this.shouldRetry(error, attempt)) throw error;
        onRetry?.(error);
        await sleep(this.delay(attempt, error), signal);
      }
    }
  }
}
