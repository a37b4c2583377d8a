import { PolywireError } from "@polywire/core";

/** The most credit a sender may hold (PW-RPC-042). */
export const MAX_CREDIT = 0xffff_ffff;

/**
 * The credit this end may send body chunks with (§10.5): nothing before the
 * peer's first grant, unlimited after an `initial_credit` of 0 that is the
 * first grant. Senders wait in {@link take} until credit arrives.
 */
export class SendCredit {
  #granted = false;
  #unlimited = false;
  #available = 0;
  #failure: PolywireError | undefined;
  #waiters: Array<() => void> = [];

  get available(): number {
    return this.#unlimited ? Number.POSITIVE_INFINITY : this.#available;
  }

  /** An `initial_credit` (PW-RPC-041). */
  initial(bytes: number): void {
    if (!this.#granted && bytes === 0) {
      this.#granted = true;
      this.#unlimited = true;
      this.#wake();
      return;
    }
    this.grant(bytes);
  }

  /** A CallCredit's bytes; ignored once unlimited. */
  grant(bytes: number): void {
    if (this.#unlimited) return;
    this.#granted = true;
    this.#available = Math.min(MAX_CREDIT, this.#available + bytes);
    if (bytes > 0) this.#wake();
  }

  /** Waits for credit and takes up to `max` bytes of it (at least 1). */
  async take(max: number): Promise<number> {
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#unlimited) return max;
      if (this.#available > 0) {
        const n = Math.min(max, this.#available);
        this.#available -= n;
        return n;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** No more credit will come: waiting senders fail with `error`. */
  fail(error: PolywireError): void {
    this.#failure ??= error;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
