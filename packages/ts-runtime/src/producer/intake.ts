import { PolywireError } from "@polywire/core";
import type { TopicInfo } from "../metadata.js";
import type { Accumulator } from "./accumulator.js";
import type { Delivery } from "./delivery.js";
import { Fifo } from "./fifo.js";
import { KNOWN_PARTITIONERS, type Partitioner } from "./partitioner.js";
import type { Group, IntakeEntry, Pending } from "./pending.js";
import type { ProducerScope } from "./scope.js";
import type { SizeLimits } from "./size-limits.js";

/**
 * The queue between `send` and the batches: one record at a time, in the
 * order they were sent, it looks up the topic (metadata), picks the
 * partition, checks the record fits a batch there, and waits for buffer
 * room (`maxBufferedBytes`) before handing the record to the accumulator.
 * Waiting here, in order, is what keeps a partition's records in `send`
 * order even while a topic is looked up or the buffer is full.
 */
export class Intake {
  readonly #scope: ProducerScope;
  readonly #accumulator: Accumulator;
  readonly #delivery: Delivery;
  readonly #limits: SizeLimits;
  readonly #partitioner: Partitioner;
  readonly #queue = new Fifo<IntakeEntry>();
  #pumping = false;

  constructor(scope: ProducerScope, accumulator: Accumulator, delivery: Delivery, limits: SizeLimits, partitioner: Partitioner) {
    this.#scope = scope;
    this.#accumulator = accumulator;
    this.#delivery = delivery;
    this.#limits = limits;
    this.#partitioner = partitioner;
  }

  /** Queues a record, a group or a flush marker behind everything sent before. */
  push(entry: IntakeEntry): void {
    this.#queue.push(entry);
    this.#pump();
  }

  /** Fails everything still queued (the producer failed); flush markers are released. */
  fail(error: PolywireError): void {
    for (const entry of this.#queue.drain()) {
      if (entry.kind === "marker") entry.reached(this.#accumulator.ordinal);
      else if (entry.kind === "group") for (const p of entry.pendings) this.#delivery.settleFailure(p, error);
      else this.#delivery.settleFailure(entry, error);
    }
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void this.#run().finally(() => {
      this.#pumping = false;
      if (this.#queue.length > 0) this.#pump();
    });
  }

  // Takes the intake's head record off the queue (or off its group).
  #advance(): void {
    const head = this.#queue.peek();
    if (head?.kind === "group" && ++head.next < head.pendings.length) return;
    this.#queue.shift();
  }

  async #run(): Promise<void> {
    const { ctx, stop } = this.#scope;
    const maxBuffered = this.#scope.settings.maxBuffered;
    const delivery = this.#delivery;
    // Topic metadata and the batch limit of the last partition, looked up in
    // this synchronous stretch; dropped at every await, where they may change.
    let seen = new Map<string, TopicInfo>();
    let limitTopic: string | undefined;
    let limitPartition = -1;
    let lastLimit = 0;
    for (let head = this.#queue.peek(); head !== undefined; head = this.#queue.peek()) {
      if (head.kind === "marker") {
        this.#queue.shift();
        head.reached(this.#accumulator.sealAll());
        continue;
      }
      if (head.kind === "group" && !head.checked) {
        seen = new Map();
        limitTopic = undefined;
        if (!(await this.#check(head))) {
          this.#queue.shift();
          continue;
        }
      }
      const p = head.kind === "group" ? head.pendings[head.next] as Pending : head;
      if (p.settled) {
        this.#advance();
        continue;
      }
      const failure = this.#scope.failure;
      if (failure !== undefined) {
        this.#advance();
        delivery.settleFailure(p, failure);
        continue;
      }
      const { topic } = p.record;
      let info = seen.get(topic) ?? ctx.metadata.cached(topic);
      let partition: number;
      let limit: number;
      try {
        if (info === undefined || (p.record.partition !== undefined && p.record.partition >= info.partitions.length)) {
          seen = new Map();
          limitTopic = undefined;
          info = await ctx.metadata.lookup(topic, stop);
          if (p.settled) continue;
        }
        seen.set(topic, info);
        partition = this.#partitioner.choose(p.record, info);
        if (topic !== limitTopic || partition !== limitPartition) {
          lastLimit = this.#limits.batchLimit(topic, partition);
          limitTopic = topic;
          limitPartition = partition;
        }
        limit = lastLimit;
        if (p.record.aloneBatchSize > limit) throw this.#limits.tooLarge(p.record, topic, partition);
      } catch (error) {
        const failure = PolywireError.from(error);
        this.#advance();
        ctx.stats.error(failure.code);
        delivery.settleFailure(p, failure);
        continue;
      }
      if (delivery.buffered > 0 && delivery.buffered + p.record.size > maxBuffered) {
        seen = new Map();
        limitTopic = undefined;
        await delivery.room();
        continue;
      }
      this.#advance();
      p.partition = partition;
      delivery.accept(p);
      this.#accumulator.append(p, info.partitions.length, limit);
    }
  }

  /** Checks every record of a group; on the first bad one, fails them all and returns false. */
  async #check(group: Group): Promise<boolean> {
    const { ctx, stop } = this.#scope;
    group.checked = true;
    const topics = new Map<string, TopicInfo>();
    for (let i = 0; i < group.pendings.length; i++) {
      const p = group.pendings[i] as Pending;
      try {
        let info = topics.get(p.record.topic) ?? ctx.metadata.cached(p.record.topic);
        if (info === undefined || (p.record.partition !== undefined && p.record.partition >= info.partitions.length)) {
          info = await ctx.metadata.lookup(p.record.topic, stop);
        }
        topics.set(p.record.topic, info);
        const partition = p.record.partition ?? 0;
        if (partition >= info.partitions.length) {
          throw new PolywireError("UNKNOWN_PARTITION", `topic ${JSON.stringify(p.record.topic)} has ${info.partitions.length} partitions; partition ${partition} does not exist (PW-PART-004)`);
        }
        if (p.record.key !== null && p.record.partition === undefined && !KNOWN_PARTITIONERS.has(info.partitioner)) {
          throw new PolywireError("INVALID_ARGUMENT", `topic ${JSON.stringify(info.name)} uses partitioner ${JSON.stringify(info.partitioner)}, which this client does not implement; name the partition explicitly (PW-COMPAT-008)`);
        }
        const limit = this.#limits.batchLimit(p.record.topic, partition);
        if (p.record.aloneBatchSize > limit) throw this.#limits.tooLarge(p.record, p.record.topic, partition);
      } catch (error) {
        const cause = PolywireError.from(error);
        const failure = new PolywireError(cause.code, `record ${i}: ${cause.message}`, { cause, ...(cause.limit === undefined ? {} : { limit: cause.limit }) });
        ctx.stats.error(failure.code);
        for (const other of group.pendings) this.#delivery.settleFailure(other, failure);
        return false;
      }
    }
    return true;
  }
}
