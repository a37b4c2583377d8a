import type { ClientContext } from "../context.js";
import type { PolywireError } from "@polywire/core";
import { abortError } from "../signal.js";
import type { Cursors } from "./cursor.js";
import type { ConsumerSettings } from "./options.js";

/** What every part of a consumer shares: its client, settings, partitions and fate. */
export interface ConsumerScope {
  readonly ctx: ClientContext;
  readonly settings: ConsumerSettings;
  readonly cursors: Cursors;
  /** Aborted when the consumer closes: fetches, lookups and waits stop. */
  readonly stop: AbortSignal;
  readonly closed: boolean;
  /** The failure that closed the consumer (the client gave up), thrown by the iterators. */
  readonly failure: PolywireError | undefined;
  readonly waiters: Waiters;
  /** Something changed: wakes waiters and starts fetch loops; with `refetch`, restarts long polls so they include the change. */
  changed(refetch: boolean): void;
  /** Closes the consumer with `error`. */
  fail(error: PolywireError): void;
}

/**
 * Where iterators and idle fetch loops wait for something to change (a
 * fetch answered, a record handed out, a seek): one wake-up wakes all, and
 * each looks again at what concerns it.
 */
export class Waiters {
  #waiters = new Set<() => void>();

  wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(done);
        reject(abortError(signal as AbortSignal));
      };
      const done = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
