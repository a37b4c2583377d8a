const INITIAL_CAPACITY = 16;
// A queue that grew past this during a burst gives its memory back once empty.
const SHRINK_ABOVE = 1024;

/**
 * A connection's deliveries routed but not yet written to its transport,
 * oldest first: one FIFO per connection keeps the routing order across its
 * subscriptions (and so the publish order per subscription, PW-PUBSUB-025).
 *
 * A ring of parallel arrays rather than an array of objects: a delivery
 * costs no allocation of its own, which matters at millions a second
 * in-process. The ring grows by doubling as deliveries arrive; it is never
 * sized from a number a peer sent (`max_pending` can be 2^32 - 1).
 */
export class DeliveryQueue<S, M> {
  #subs: (S | undefined)[] = new Array<S | undefined>(INITIAL_CAPACITY);
  #sequences: number[] = new Array<number>(INITIAL_CAPACITY).fill(0);
  #messages: (M | undefined)[] = new Array<M | undefined>(INITIAL_CAPACITY);
  #sizes: number[] = new Array<number>(INITIAL_CAPACITY).fill(0);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(sub: S, sequence: number, message: M, size: number): void {
    if (this.#length === this.#subs.length) this.#grow();
    const at = (this.#head + this.#length) & (this.#subs.length - 1);
    this.#subs[at] = sub;
    this.#sequences[at] = sequence;
    this.#messages[at] = message;
    this.#sizes[at] = size;
    this.#length++;
  }

  /** The oldest delivery's subscription; the queue must not be empty. */
  get headSubscription(): S {
    return this.#subs[this.#head] as S;
  }

  get headSequence(): number {
    return this.#sequences[this.#head] as number;
  }

  get headMessage(): M {
    return this.#messages[this.#head] as M;
  }

  get headSize(): number {
    return this.#sizes[this.#head] as number;
  }

  /** Calls `visit` with the messages of the newest `count` deliveries (all of them when fewer), oldest first. */
  forNewest(count: number, visit: (message: M) => void): void {
    const mask = this.#subs.length - 1;
    for (let i = Math.max(0, this.#length - count); i < this.#length; i++) visit(this.#messages[(this.#head + i) & mask] as M);
  }

  /** Removes the oldest delivery. */
  shift(): void {
    const at = this.#head;
    // Clear the references so a delivered message can be collected at once.
    this.#subs[at] = undefined;
    this.#messages[at] = undefined;
    this.#head = (at + 1) & (this.#subs.length - 1);
    this.#length--;
    if (this.#length === 0) {
      this.#head = 0;
      if (this.#subs.length > SHRINK_ABOVE) this.clear();
    }
  }

  /**
   * Removes every delivery of `sub`, keeping the others in order, and
   * returns how many it removed and their sizes' sum. O(length): it runs
   * on unsubscribe, not per message.
   */
  removeSubscription(sub: S): { count: number; size: number } {
    const mask = this.#subs.length - 1;
    let kept = 0;
    let count = 0;
    let size = 0;
    for (let i = 0; i < this.#length; i++) {
      const from = (this.#head + i) & mask;
      if (this.#subs[from] === sub) {
        count++;
        size += this.#sizes[from] as number;
        continue;
      }
      const to = (this.#head + kept) & mask;
      if (to !== from) {
        this.#subs[to] = this.#subs[from];
        this.#sequences[to] = this.#sequences[from] as number;
        this.#messages[to] = this.#messages[from];
        this.#sizes[to] = this.#sizes[from] as number;
      }
      kept++;
    }
    for (let i = kept; i < this.#length; i++) {
      const at = (this.#head + i) & mask;
      this.#subs[at] = undefined;
      this.#messages[at] = undefined;
    }
    this.#length = kept;
    return { count, size };
  }

  /** Forgets every delivery and returns to the initial capacity. */
  clear(): void {
    this.#subs = new Array<S | undefined>(INITIAL_CAPACITY);
    this.#sequences = new Array<number>(INITIAL_CAPACITY).fill(0);
    this.#messages = new Array<M | undefined>(INITIAL_CAPACITY);
    this.#sizes = new Array<number>(INITIAL_CAPACITY).fill(0);
    this.#head = 0;
    this.#length = 0;
  }

  // Doubles the capacity, unrolling the ring so the oldest entry is at 0.
  #grow(): void {
    const capacity = this.#subs.length;
    const mask = capacity - 1;
    const subs = new Array<S | undefined>(capacity * 2);
    const sequences = new Array<number>(capacity * 2).fill(0);
    const messages = new Array<M | undefined>(capacity * 2);
    const sizes = new Array<number>(capacity * 2).fill(0);
    for (let i = 0; i < this.#length; i++) {
      const from = (this.#head + i) & mask;
      subs[i] = this.#subs[from];
      sequences[i] = this.#sequences[from] as number;
      messages[i] = this.#messages[from];
      sizes[i] = this.#sizes[from] as number;
    }
    this.#subs = subs;
    this.#sequences = sequences;
    this.#messages = messages;
    this.#sizes = sizes;
    this.#head = 0;
  }
}
