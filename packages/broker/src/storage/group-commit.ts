/**
 * Group commit: callers ask for "everything I wrote before now is durable";
 * one fsync round serves every caller that asked before it started, and
 * callers arriving while a round runs share the next one. Rounds never
 * overlap, so a round that starts after a caller's write covers it.
 */
export class GroupCommit {
  #running: Promise<void> | null = null;
  #next: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  readonly #round: () => Promise<void>;

  /** @param round makes durable everything written before it was called. */
  constructor(round: () => Promise<void>) {
    this.#round = round;
  }

  /** Resolves once a round that started after this call has completed. */
  sync(): Promise<void> {
    if (this.#running === null) return this.#start();
    if (this.#next === null) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#next = { promise, resolve, reject };
    }
    return this.#next.promise;
  }

  /** Resolves when no round is running or queued (used before closing files). */
  async idle(): Promise<void> {
    while (this.#running !== null) {
      await this.#running.catch(() => undefined);
    }
  }

  #start(): Promise<void> {
    const current = this.#round().finally(() => {
      this.#running = null;
      const waiting = this.#next;
      if (waiting !== null) {
        this.#next = null;
        this.#start().then(waiting.resolve, waiting.reject);
      }
    });
    this.#running = current;
    return current;
  }
}
