/**
 * Which member holds each partition of a group: it is in the member's
 * assigned set, or was withdrawn from it and the member has not yet reported
 * it released (PW-GROUP-022, PW-GROUP-026). The index is the single place that grants a
 * partition, so two members can never hold one at once.
 */
export class Holders {
  readonly #holder = new Map<string, string>();

  static #key(topic: string, partition: number): string {
    return `${partition}\u0000${topic}`;
  }

  holder(topic: string, partition: number): string | undefined {
    return this.#holder.get(Holders.#key(topic, partition));
  }

  /** Grants a free partition (or one `memberId` already holds); false when another member holds it. */
  take(topic: string, partition: number, memberId: string): boolean {
    const key = Holders.#key(topic, partition);
    const current = this.#holder.get(key);
    if (current !== undefined && current !== memberId) return false;
    this.#holder.set(key, memberId);
    return true;
  }

  /** Frees a partition if `memberId` holds it. */
  release(topic: string, partition: number, memberId: string): void {
    const key = Holders.#key(topic, partition);
    if (this.#holder.get(key) === memberId) this.#holder.delete(key);
  }

  get size(): number {
    return this.#holder.size;
  }
}
