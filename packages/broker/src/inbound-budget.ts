/** What the budget needs from a connection. */
export interface InboundHolder {
  /** Closes the connection with RESOURCE_EXHAUSTED; it reports 0 bytes held from then on. */
  exhaust(budget: number): void;
}

/**
 * The broker-wide bound on bytes of frames not finished reading
 * (PW-LIM-006): each connection reports what it holds (incomplete frames,
 * frames read but not yet served); when the total passes the budget, the
 * connections holding the most are closed first until it fits again.
 */
export class InboundBudget<T extends InboundHolder> {
  readonly limit: number;
  readonly #held = new Map<T, number>();
  #total = 0;
  #evicting = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held across every connection. */
  get total(): number {
    return this.#total;
  }

  /** Records that `holder` now holds `bytes`; may close connections, `holder` among them. */
  set(holder: T, bytes: number): void {
    const before = this.#held.get(holder) ?? 0;
    if (bytes === before) return;
    if (bytes === 0) this.#held.delete(holder);
    else this.#held.set(holder, bytes);
    this.#total += bytes - before;
    if (this.#total > this.limit) this.#evict();
  }

  /** Forgets `holder` (it closed). */
  remove(holder: T): void {
    this.set(holder, 0);
  }

  #evict(): void {
    // Closing reports 0 bytes back through set(), re-entering here.
    if (this.#evicting) return;
    this.#evicting = true;
    try {
      const largest = [...this.#held].sort((a, b) => b[1] - a[1]);
      let projected = this.#total;
      const victims: T[] = [];
      for (const [holder, bytes] of largest) {
        if (projected <= this.limit) break;
        victims.push(holder);
        projected -= bytes;
      }
      for (const holder of victims) {
        holder.exhaust(this.limit);
        // A holder that did not report its bytes released is forgotten anyway: the budget must come back.
        this.remove(holder);
      }
    } finally {
      this.#evicting = false;
    }
  }
}
