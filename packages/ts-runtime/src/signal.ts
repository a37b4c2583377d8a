import { PolywireError } from "@polywire/core";

/**
 * Per-call options every client, producer and consumer operation takes.
 * `signal` cancels the call (it fails with CANCELLED, or TIMEOUT when the
 * signal's reason is a TimeoutError); `timeoutMs` bounds the whole call,
 * retries and waiting for a connection included, and fails it with TIMEOUT.
 */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Fails the call with TIMEOUT after this many ms. Default: no bound beyond the request timeout of each attempt. */
  timeoutMs?: number;
}

/** Checks a `timeoutMs` value: a positive finite number or absent. */
export function checkTimeout(timeoutMs: number | undefined, what = "timeoutMs"): void {
  if (timeoutMs === undefined) return;
  if (typeof timeoutMs !== "number" || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new PolywireError("INVALID_ARGUMENT", `${what} must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  }
}

/**
 * One signal for `options`: the caller's signal, a deadline from
 * `timeoutMs`, both, or undefined when neither is set (the hot path then
 * allocates nothing).
 */
export function callSignal(options: CallOptions | undefined): AbortSignal | undefined {
  if (options === undefined) return undefined;
  checkTimeout(options.timeoutMs);
  const { signal, timeoutMs } = options;
  if (timeoutMs === undefined) return signal;
  const deadline = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? deadline : AbortSignal.any([signal, deadline]);
}

/** Combines signals, skipping undefined ones. */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return AbortSignal.any(present);
}

/** The error an aborted signal stands for: TIMEOUT for a deadline, else CANCELLED. */
export function abortError(signal: AbortSignal): PolywireError {
  return PolywireError.from(signal.reason, "CANCELLED");
}

/** Resolves after `ms`, or rejects with {@link abortError} when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits for `promise`, or rejects with {@link abortError} when `signal`
 * aborts first. The promise itself is not cancelled.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
