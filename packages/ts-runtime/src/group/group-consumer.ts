import { PolywireError } from "@polywire/core";
import type { ClientContext } from "../context.js";
import { Consumer } from "../consumer/consumer.js";
import { keyOf } from "../consumer/cursor.js";
import type { PartitionAssignment, TopicPartition } from "../consumer/options.js";
import type { ConsumedRecord } from "../record.js";
import { callSignal, sleep, type CallOptions } from "../signal.js";
import { Membership } from "./membership.js";
import { commitOffsets, fetchOffsets, type OffsetToCommit } from "./offsets.js";
import { groupSettings, type GroupConsumerOptions, type GroupSettings } from "./options.js";

/** A record handed to the application and not finished yet (its iterator has not asked for the next). */
interface InHand {
  readonly key: string;
  readonly offset: bigint;
  /** The ownership generation it was handed out in: a fenced member never commits it. */
  readonly generation: number;
}

/**
 * A member of a consumer group (spec §8): the broker assigns it partitions
 * of `topics` and moves them between members incrementally (revoke first,
 * then assign, PW-GROUP-020..022). Records come out of
 * `for await (const record of consumer)` as from a {@link Consumer}; a
 * record counts as processed once the loop asks for the next one, and
 * processed offsets are committed with `commit()` or automatically.
 *
 * Heartbeats run on their own timer and never wait for the loop: a body
 * that awaits for minutes keeps the member's partitions. A partition being
 * revoked stops handing out records at once, waits for the one in hand to
 * be finished, is committed, then released.
 *
 * ```ts
 * await using consumer = client.consumer({ group: "billing", topics: ["orders"], autoOffsetReset: "earliest" });
 * for await (const record of consumer) await handle(record);
 * ```
 */
export class GroupConsumer implements AsyncIterable<ConsumedRecord>, AsyncDisposable {
  readonly #ctx: ClientContext;
  readonly #settings: GroupSettings;
  readonly #options: GroupConsumerOptions;
  readonly #inner: Consumer;
  readonly #membership: Membership;
  readonly #untrack: () => void;
  /** Partitions owned (PW-GROUP-026): from the response that assigned them until a heartbeat leaves them out. */
  readonly #owned = new Map<string, TopicPartition>();
  /** Owned partitions whose start position is not yet set in the inner consumer. */
  readonly #pending = new Set<string>();
  /** Owned partitions handed out by the inner consumer. */
  readonly #active = new Map<string, TopicPartition>();
  #target = new Map<string, TopicPartition>();
  /** The next offset to commit per owned partition: past every record finished. */
  readonly #processed = new Map<string, bigint>();
  readonly #committed = new Map<string, bigint>();
  readonly #inHand = new Set<InHand>();
  #handBack: Array<() => void> = [];
  #generation = 0;
  #reconciling: Promise<void> | undefined;
  #autoCommit: Promise<void> | undefined;
  readonly #stop = new AbortController();
  #failure: PolywireError | undefined;
  #closing: Promise<void> | undefined;

  /** @internal Use `client.consumer({ group, topics })`. */
  constructor(context: ClientContext, options: GroupConsumerOptions) {
    this.#settings = groupSettings(options);
    const { group: _g, topics: _t, assignor: _a, rebalanceTimeoutMs: _r, groupInstanceId: _i, autoCommit: _c, autoCommitIntervalMs: _ci, onAssigned: _oa, onRevoked: _or, onLost: _ol, ...fetch } = options;
    this.#ctx = context;
    this.#options = options;
    this.#inner = new Consumer(context, fetch);
    this.#membership = new Membership(context, this.#settings, {
      owned: () => this.#owned.values(),
      assigned: (partitions) => this.#assigned(partitions),
      fenced: (error) => this.#fenced(error),
      fail: (error) => this.#fail(error),
    });
    this.#untrack = context.track({ close: () => this.close(), fail: (error) => this.#fail(error) });
    this.#membership.start();
    if (this.#settings.autoCommit) this.#autoCommit = this.#autoCommitLoop();
  }

  /** The member id the broker gave this member; "" before it joined. */
  get memberId(): string {
    return this.#membership.memberId;
  }

  /** The member epoch (PW-GROUP-002); 0 while not a member. */
  get memberEpoch(): number {
    return this.#membership.epoch;
  }

  /** The partitions this member consumes now (owned, start position known, not being revoked). */
  assignment(): TopicPartition[] {
    return [...this.#active.values()];
  }

  /** The offset committed for an owned partition by this member, or undefined before one. */
  committed(tp: TopicPartition): bigint | undefined {
    return this.#committed.get(keyOf(tp.topic, tp.partition));
  }

  /** Records between the position and the high watermark of an assigned partition (see {@link Consumer.lag}). */
  lag(tp: TopicPartition): bigint | undefined {
    return this.#inner.lag(tp);
  }

  /** The high watermark of an assigned partition from the last fetch. */
  highWatermark(tp: TopicPartition): bigint | undefined {
    return this.#inner.highWatermark(tp);
  }

  // PW-GROUP-013: the assignment lists every partition the member may own.
  #assigned(partitions: TopicPartition[]): void {
    this.#target = new Map(partitions.map((tp) => [keyOf(tp.topic, tp.partition), tp]));
    for (const [key, tp] of this.#target) {
      // Owned from the moment it is assigned (PW-GROUP-026): never reported released before it was.
      if (!this.#owned.has(key)) {
        this.#owned.set(key, tp);
        this.#pending.add(key);
      }
    }
    this.#reconciling ??= this.#reconcile().catch((error: unknown) => this.#fail(PolywireError.from(error))).finally(() => {
      this.#reconciling = undefined;
    });
  }

  /** Moves owned partitions to the target: revoke first, then start the new ones. */
  async #reconcile(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      const generation = this.#generation;
      const revoked = [...this.#owned].filter(([key]) => !this.#target.has(key)).map(([, tp]) => tp);
      if (revoked.length > 0) {
        await this.#revoke(revoked, generation);
        continue;
      }
      const added = [...this.#pending].map((key) => this.#owned.get(key) as TopicPartition);
      if (added.length === 0) return;
      await this.#start(added, generation);
    }
  }

  /** PW-GROUP-020: stop handing out, finish records in hand, commit, tell the application, release. */
  async #revoke(revoked: TopicPartition[], generation: number): Promise<void> {
    const keys = new Set(revoked.map((tp) => keyOf(tp.topic, tp.partition)));
    for (const key of keys) {
      this.#active.delete(key);
      this.#pending.delete(key);
    }
    this.#applyActive();
    while ([...this.#inHand].some((r) => keys.has(r.key) && r.generation === generation) && this.#generation === generation) {
      await new Promise<void>((resolve) => this.#handBack.push(resolve));
    }
    if (this.#generation !== generation) return;
    if (this.#settings.autoCommit) await this.#commitQuietly([...keys]);
    if (this.#generation !== generation) return;
    try {
      await this.#options.onRevoked?.(revoked);
    } catch {
      // The application's hook failing must not keep the partitions: the broker would expel the member.
    }
    if (this.#generation !== generation) return;
    for (const key of keys) {
      this.#owned.delete(key);
      this.#processed.delete(key);
      this.#committed.delete(key);
    }
    // PW-GROUP-004: report the release at once.
    this.#membership.beatNow();
  }

  /** Starts newly assigned partitions at their committed offsets, else per autoOffsetReset. */
  async #start(added: TopicPartition[], generation: number): Promise<void> {
    let committed: Map<string, bigint>;
    try {
      committed = await fetchOffsets(this.#ctx, this.#settings.group, added, this.#stop.signal);
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      const failure = PolywireError.from(error);
      if (!failure.retriable) throw failure;
      await sleep(this.#ctx.retry.delay(1, failure), this.#stop.signal).catch(() => undefined);
      return;
    }
    if (this.#generation !== generation) return;
    const starts = new Map<string, bigint>();
    for (const tp of added) {
      const key = keyOf(tp.topic, tp.partition);
      if (!this.#pending.has(key)) continue;
      this.#pending.delete(key);
      this.#active.set(key, tp);
      const offset = committed.get(key) ?? -1n;
      if (offset >= 0n) {
        starts.set(key, offset);
        this.#committed.set(key, offset);
      }
    }
    this.#applyActive(starts);
    try {
      await this.#options.onAssigned?.(added);
    } catch {
      // An application hook's failure is the application's; the partitions are consumed regardless.
    }
  }

  /** Gives the inner consumer the active partitions; new ones start at `starts`, else per autoOffsetReset. */
  #applyActive(starts: ReadonlyMap<string, bigint> = new Map()): void {
    const next: PartitionAssignment[] = [];
    for (const [key, tp] of this.#active) {
      const offset = starts.get(key);
      next.push(offset === undefined ? tp : { ...tp, from: { offset } });
    }
    this.#inner.assign(next);
  }

  /** PW-GROUP-011: stop processing every partition at once, commit nothing, rejoin. */
  #fenced(error: PolywireError): void {
    this.#generation++;
    const lost = [...this.#owned.values()];
    this.#owned.clear();
    this.#pending.clear();
    this.#active.clear();
    this.#processed.clear();
    this.#committed.clear();
    this.#target = new Map();
    this.#inHand.clear();
    this.#wakeHandBack();
    if (!this.#stop.signal.aborted) this.#applyActive();
    try {
      this.#options.onLost?.(lost, error);
    } catch {
      // Nothing the application does here changes what was lost.
    }
  }

  #wakeHandBack(): void {
    for (const w of this.#handBack.splice(0)) w();
  }

  /** A record the application finished: its partition's processed offset moves past it. */
  #finish(record: InHand | undefined): void {
    if (record === undefined || !this.#inHand.delete(record)) return;
    if (record.generation === this.#generation && this.#owned.has(record.key)) this.#processed.set(record.key, record.offset + 1n);
    this.#wakeHandBack();
  }

  /**
   * Records one by one; iterating the consumer is the same. A record is
   * finished (its offset processed, for commits and revocation) when the
   * iterator is asked for the next one or ends.
   */
  records(options: CallOptions = {}): AsyncIterableIterator<ConsumedRecord> {
    const inner = this.#inner.records(options);
    let current: InHand | undefined;
    const iterator: AsyncIterableIterator<ConsumedRecord> = {
      next: async () => {
        this.#finish(current);
        current = undefined;
        for (;;) {
          if (this.#failure !== undefined) throw this.#failure;
          const r = await inner.next();
          if (r.done === true) {
            // Closed because the group failed (a refused join, no FEATURE_GROUPS): say why.
            if (this.#failure !== undefined) throw this.#failure;
            return r;
          }
          const key = keyOf(r.value.topic, r.value.partition);
          // Handed out by the inner consumer just before a revocation took the partition away.
          if (!this.#active.has(key)) continue;
          current = { key, offset: r.value.offset, generation: this.#generation };
          this.#inHand.add(current);
          return r;
        }
      },
      return: async () => {
        this.#finish(current);
        current = undefined;
        return inner.return?.() ?? { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord> {
    return this.records();
  }

  /**
   * Commits, fenced by the member epoch (PW-GROUP-041): `offsets` as
   * given, or by default the processed offset of every owned partition
   * that moved since its last commit. Rejects with UNKNOWN_MEMBER_ID or
   * FENCED_MEMBER_EPOCH when the member lost its partitions (nothing is
   * committed then), or with the first partition's error.
   */
  async commit(offsets?: readonly OffsetToCommit[], options: CallOptions = {}): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    const list = offsets ?? this.#due([...this.#owned.keys()]);
    if (list.length === 0) return;
    const signal = callSignal(options);
    for (let attempt = 0; ; attempt++) {
      const memberEpoch = this.#membership.epoch;
      if (memberEpoch <= 0) throw new PolywireError("UNKNOWN_MEMBER_ID", `not a member of group ${JSON.stringify(this.#settings.group)} now: nothing committed (PW-GROUP-041)`);
      const generation = this.#generation;
      try {
        const { stored, error } = await commitOffsets(this.#ctx, this.#settings.group, { memberId: this.#membership.memberId, memberEpoch }, list, signal);
        if (generation === this.#generation) for (const o of stored) this.#committed.set(keyOf(o.topic, o.partition), o.offset);
        if (error !== undefined) throw error;
        return;
      } catch (error) {
        const failure = PolywireError.from(error);
        // PW-GROUP-041: a stale epoch heartbeats, then commits again.
        if (failure.code === "STALE_MEMBER_EPOCH" && attempt < 3) {
          await this.#membership.nextBeat();
          continue;
        }
        throw failure;
      }
    }
  }

  /** The processed offsets of `keys` not committed yet. */
  #due(keys: readonly string[]): OffsetToCommit[] {
    const due: OffsetToCommit[] = [];
    for (const key of keys) {
      const offset = this.#processed.get(key);
      const tp = this.#owned.get(key);
      if (offset === undefined || tp === undefined || this.#committed.get(key) === offset) continue;
      due.push({ topic: tp.topic, partition: tp.partition, offset });
    }
    return due;
  }

  /** An automatic commit: its failure is counted, and a fenced member learns it from its heartbeat. */
  async #commitQuietly(keys: readonly string[]): Promise<void> {
    try {
      await this.commit(this.#due(keys), { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      this.#ctx.stats.error(PolywireError.from(error).code);
    }
  }

  async #autoCommitLoop(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      try {
        await sleep(this.#settings.autoCommitIntervalMs, stop);
      } catch {
        return;
      }
      await this.#commitQuietly([...this.#owned.keys()]);
    }
  }

  #fail(error: PolywireError): void {
    this.#failure ??= error;
    void this.close();
  }

  /**
   * Commits processed offsets (with auto-commit), leaves the group (epoch
   * -1, or -2 with `groupInstanceId`, PW-GROUP-006/-007) and closes the
   * fetcher. Records in hand are not committed. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort(new PolywireError("CANCELLED", "the group consumer is closed"));
      this.#wakeHandBack();
      await this.#autoCommit;
      if (this.#settings.autoCommit && this.#failure === undefined) await this.#commitQuietly([...this.#owned.keys()]);
      // Closing revokes everything, as in a rebalance: the application may commit in the hook (as Kafka's close calls onPartitionsRevoked).
      const owned = [...this.#owned.values()];
      if (owned.length > 0 && this.#failure === undefined) {
        try {
          await this.#options.onRevoked?.(owned);
        } catch {
          // An application hook's failure is the application's; the consumer closes regardless.
        }
      }
      // Fetching stops before the broker hears of the leave and hands the partitions on (PW-GROUP-022).
      await this.#inner.close();
      await this.#membership.leave();
      this.#owned.clear();
      this.#active.clear();
      this.#untrack();
    })();
    return this.#closing;
  }

  /** `await using` support: the same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
