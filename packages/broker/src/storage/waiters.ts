interface Waiter {
  readonly offset: number;
  readonly resolve: (ok: boolean) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * Long-poll waiters of one partition: each waits for the high watermark to
 * pass an offset. Few fetches wait on a partition at once, so a flat list
 * scanned on each advance is cheaper than anything ordered.
 */
export class DataWaiters {
  #waiting: Waiter[] = [];

  /** Resolves true once {@link advance} passes `offset`, false on abort or {@link closeAll}. */
  wait(offset: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const entry: Waiter = {
        offset,
        resolve,
        signal,
        onAbort: () => {
          this.#remove(entry);
          resolve(false);
        },
      };
      signal?.addEventListener("abort", entry.onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** Wakes every waiter whose offset is below the new high watermark. */
  advance(highWatermark: number): void {
    if (this.#waiting.length === 0) return;
    const still: Waiter[] = [];
    for (const entry of this.#waiting) {
      if (entry.offset < highWatermark) {
        entry.signal?.removeEventListener("abort", entry.onAbort);
        entry.resolve(true);
      } else {
        still.push(entry);
      }
    }
    this.#waiting = still;
  }

  /** Resolves every waiter with false (partition gone). */
  closeAll(): void {
    for (const entry of this.#waiting) {
      entry.signal?.removeEventListener("abort", entry.onAbort);
      entry.resolve(false);
    }
    this.#waiting = [];
  }

  #remove(entry: Waiter): void {
    const i = this.#waiting.indexOf(entry);
    if (i >= 0) this.#waiting.splice(i, 1);
  }
}
