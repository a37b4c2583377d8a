import type { Partitioner } from "./partitioner.js";
import { Batch, PartitionState } from "./batch.js";
import type { Pending } from "./pending.js";

// Runs `fn` on a later turn of the event loop, after pending I/O: a linger
// of 0 still lets the records of the current turn join the batch.
const deferred: (fn: () => void) => ReturnType<typeof setTimeout> = typeof setImmediate === "function"
  ? (fn) => setImmediate(fn) as unknown as ReturnType<typeof setTimeout>
  : (fn) => setTimeout(fn, 0);

/**
 * Collects accepted records into one open batch per partition and seals it
 * when it reaches `batchBytes` (or the partition's batch limit), when its
 * linger runs out, or for a flush; a sealed batch goes to `onSealed` (the
 * sender). Batches are numbered in the order they open (their ordinal), so
 * a flush can wait for exactly those opened before it.
 */
export class Accumulator {
  readonly #partitions = new Map<string, PartitionState[]>();
  readonly #partitioner: Partitioner;
  readonly #batchBytes: number;
  readonly #lingerMs: number;
  readonly #onSealed: (ps: PartitionState) => void;
  #ordinal = 0;

  constructor(settings: { readonly batchBytes: number; readonly lingerMs: number }, partitioner: Partitioner, onSealed: (ps: PartitionState) => void) {
    this.#batchBytes = settings.batchBytes;
    this.#lingerMs = settings.lingerMs;
    this.#partitioner = partitioner;
    this.#onSealed = onSealed;
  }

  /** The ordinal the next batch gets: every batch opened so far is below it. */
  get ordinal(): number {
    return this.#ordinal;
  }

  /** Every partition the producer has sent to, per topic in partition order. */
  *states(): Iterable<PartitionState> {
    for (const states of this.#partitions.values()) {
      for (const ps of states) if (ps !== undefined) yield ps;
    }
  }

  /** Adds an accepted record to its partition's open batch; `limit` is the partition's largest batch. */
  append(p: Pending, count: number, limit: number): void {
    const ps = this.#partition(p.record.topic, p.partition, count);
    let open = ps.open;
    if (open !== undefined && open.bytes + p.record.size > limit) {
      this.seal(ps);
      open = undefined;
    }
    if (open === undefined) {
      open = new Batch(this.#ordinal++);
      ps.open = open;
      ps.linger = this.#lingerMs === 0 ? deferred(() => this.#lingered(ps)) : setTimeout(() => this.#lingered(ps), this.#lingerMs);
    }
    open.records.push(p);
    open.bytes += p.record.size;
    if (open.bytes >= Math.min(this.#batchBytes, limit)) this.seal(ps);
  }

  /** Seals every open batch (a flush) and returns the ordinal they are all below. */
  sealAll(): number {
    for (const ps of this.states()) if (ps.open !== undefined) this.seal(ps);
    return this.#ordinal;
  }

  seal(ps: PartitionState): void {
    if (ps.linger !== undefined) {
      clearTimeout(ps.linger);
      ps.linger = undefined;
    }
    const open = ps.open;
    if (open === undefined) return;
    ps.open = undefined;
    ps.queue.push(open);
    // The sticky partitioner moves on once a batch of its partition is sealed.
    this.#partitioner.sealed(ps.topic, ps.partition, ps.count);
    this.#onSealed(ps);
  }

  /** Stops every linger and retry backoff timer (the producer is closed). */
  stopTimers(): void {
    for (const ps of this.states()) {
      if (ps.linger !== undefined) clearTimeout(ps.linger);
      if (ps.backoff !== undefined) clearTimeout(ps.backoff);
    }
  }

  /**
   * Takes out every batch not in flight (open, queued, waiting for a retry)
   * and stops the timers: the producer failed, these batches fail with it.
   * Batches in flight stay: they settle with their own answer, as they may
   * be stored.
   */
  takeUnsent(): Batch[] {
    const unsent: Batch[] = [];
    for (const ps of this.states()) {
      if (ps.linger !== undefined) clearTimeout(ps.linger);
      if (ps.backoff !== undefined) clearTimeout(ps.backoff);
      ps.linger = undefined;
      ps.backoff = undefined;
      if (ps.open !== undefined) unsent.push(ps.open);
      unsent.push(...ps.queue, ...ps.retries);
      ps.open = undefined;
      ps.queue = [];
      ps.retries = [];
    }
    return unsent;
  }

  #lingered(ps: PartitionState): void {
    ps.linger = undefined;
    if (ps.open !== undefined) this.seal(ps);
  }

  #partition(topic: string, partition: number, count: number): PartitionState {
    let states = this.#partitions.get(topic);
    if (states === undefined) {
      states = [];
      this.#partitions.set(topic, states);
    }
    let ps = states[partition];
    if (ps === undefined) {
      ps = new PartitionState(topic, partition, count);
      states[partition] = ps;
    }
    ps.count = count;
    return ps;
  }
}
