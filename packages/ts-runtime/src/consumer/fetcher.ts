import type { FetchResponse } from "@polywire/proto/log";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { readBatchHeader, splitBatches } from "@polywire/wasm-codec";
import type { OffsetQuery } from "../context.js";
import { PolywireError } from "@polywire/core";
import type { BrokerLink } from "../broker-link.js";
import { responseError } from "../response-errors.js";
import { anySignal, sleep } from "../signal.js";
import type { Cursor } from "./cursor.js";
import type { ConsumerScope } from "./scope.js";

type PartitionResult = FetchResponse["partitions"][number];

/**
 * Keeps the buffers filled: one long-polling fetch loop per broker that
 * leads an assigned partition, bounded by `maxBufferedBytes` and
 * `partitionMaxBytes`; start positions resolved with ListOffsets; the
 * answers cut into batches and added to the partitions' buffers, unless a
 * seek or a new assignment made them stale meanwhile.
 */
export class Fetcher {
  readonly #scope: ConsumerScope;
  readonly #loops = new Map<BrokerLink, Promise<void>>();
  readonly #interrupts = new Set<AbortController>();
  readonly #lookups = new Set<string>();

  constructor(scope: ConsumerScope) {
    this.#scope = scope;
  }

  /** Restarts every fetch in progress, so that the next one includes a change (a seek, a resume). */
  interrupt(): void {
    for (const c of this.#interrupts) c.abort();
  }

  /** Resolves once every fetch loop has ended (the consumer is closing). */
  async stopped(): Promise<void> {
    await Promise.allSettled([...this.#loops.values()]);
  }

  /** Starts a fetch loop for each leader of an assigned partition that has none, looking up unknown leaders. */
  ensureLoops(): void {
    const { ctx, cursors } = this.#scope;
    if (this.#scope.closed) return;
    for (const c of cursors.order) {
      if (c.error !== undefined) continue;
      const link = ctx.leaderNow(c.topic, c.partition);
      if (link === undefined) {
        this.#lookup(c);
        continue;
      }
      if (!this.#loops.has(link)) {
        const loop = this.#fetchLoop(link).catch((error: unknown) => this.#scope.fail(PolywireError.from(error))).finally(() => {
          this.#loops.delete(link);
          this.ensureLoops();
        });
        this.#loops.set(link, loop);
      }
    }
  }

  #lookup(c: Cursor): void {
    if (this.#lookups.has(c.key)) return;
    this.#lookups.add(c.key);
    const epoch = c.epoch;
    // Its own signal following `stop`: many partitions looked up at once must not pile listeners on one signal.
    const signal = this.#scope.stop === undefined ? undefined : AbortSignal.any([this.#scope.stop]);
    this.#scope.ctx.leader(c.topic, c.partition, signal).then(
      () => undefined,
      (error: unknown) => {
        if (this.#scope.closed || c.epoch !== epoch || this.#scope.cursors.find(c.key) !== c) return;
        c.error = PolywireError.from(error);
        c.errorThrown = false;
      },
    ).finally(() => {
      this.#lookups.delete(c.key);
      this.#scope.changed(false);
    });
  }

  /** Cursors led by `link` that may be fetched now. */
  #eligible(link: BrokerLink): { led: boolean; ready: Cursor[] } {
    const { ctx, cursors, settings } = this.#scope;
    let led = false;
    const ready: Cursor[] = [];
    for (const c of cursors.order) {
      if (c.error !== undefined || ctx.leaderNow(c.topic, c.partition) !== link) continue;
      led = true;
      if (c.paused || c.reset !== undefined || c.position === undefined) continue;
      if (c.bufferedBytes >= settings.partitionMaxBytes) continue;
      ready.push(c);
    }
    return { led, ready };
  }

  async #fetchLoop(link: BrokerLink): Promise<void> {
    const { ctx, cursors, settings, stop, waiters } = this.#scope;
    let attempt = 0;
    while (!this.#scope.closed) {
      const starting = cursors.order.filter((c) => c.reset !== undefined && c.error === undefined && ctx.leaderNow(c.topic, c.partition) === link);
      if (starting.length > 0) {
        await this.#resolveStarts(starting);
        waiters.wake();
        continue;
      }
      const { led, ready } = this.#eligible(link);
      if (!led) return;
      const room = settings.maxBuffered - cursors.buffered;
      if (ready.length === 0 || room <= 0) {
        await waiters.wait(stop).catch(() => undefined);
        continue;
      }
      const interrupt = new AbortController();
      this.#interrupts.add(interrupt);
      const signal = anySignal(stop, interrupt.signal);
      const epochs = ready.map((c) => c.epoch);
      try {
        const connection = await link.acquire(signal);
        const { message, payload } = await ctx.call(connection, FrameKind.FETCH_REQUEST, {
          partitions: ready.map((c) => ({ topic: c.topic, partition: c.partition, offset: c.fetchOffset, maxBytes: settings.partitionMaxBytes })),
          maxWaitMs: settings.maxWaitMs,
          minBytes: settings.minBytes,
          maxBytes: Math.max(1, Math.min(settings.maxBytes, room)),
        }, undefined, { ...(signal === undefined ? {} : { signal }), timeoutMs: settings.maxWaitMs + settings.requestTimeoutMs });
        attempt = 0;
        this.#absorb(ready, epochs, message, payload, connection.maxFrameSize);
      } catch (error) {
        if (this.#scope.closed) return;
        if (interrupt.signal.aborted) continue;
        const failure = PolywireError.from(error);
        // A lost or draining connection is the link's to recover, for as long
        // as the client is open (its `reconnect` policy): the fetch waits for
        // it in acquire() instead of spending the retry budget.
        const linkDown = failure.retriable && (failure.code === "CONNECTION_LOST" || failure.code === "SHUTTING_DOWN");
        if (!linkDown) attempt++;
        if (!linkDown && !settings.retry.shouldRetry(failure, attempt)) {
          // Surface it through the iterator for these partitions; a seek lets them go on.
          for (const c of ready) if (c.error === undefined) c.error = failure;
          attempt = 0;
          waiters.wake();
          continue;
        }
        ctx.stats.retries++;
        try {
          await sleep(settings.retry.delay(Math.max(1, attempt), failure), stop);
        } catch {
          return;
        }
      } finally {
        this.#interrupts.delete(interrupt);
      }
    }
  }

  /**
   * Resolves pending start positions with one ListOffsets per leader for
   * all of them (partitions assigned together start together, in one round
   * trip, with one listener on the stop signal); when that fails, each
   * partition alone, so that only the partitions that fail get the error.
   */
  async #resolveStarts(starting: readonly Cursor[]): Promise<void> {
    const { ctx, stop } = this.#scope;
    const epochs = starting.map((c) => c.epoch);
    const options = { signal: stop };
    try {
      const found = await ctx.listOffsets(starting.map((c) => ({ topic: c.topic, partition: c.partition, query: c.reset as OffsetQuery })), options);
      // A time no record is that recent for starts at the high watermark.
      const late = starting.filter((_, i) => (found[i]?.offset ?? 0n) < 0n);
      const latest = late.length === 0 ? [] : await ctx.listOffsets(late.map((c) => ({ topic: c.topic, partition: c.partition, query: "latest" as const })), options);
      starting.forEach((c, i) => {
        const offset = c.reset === undefined ? undefined : (found[i]?.offset ?? -1n) >= 0n ? found[i]?.offset : latest[late.indexOf(c)]?.offset;
        if (c.epoch !== epochs[i] || offset === undefined) return;
        c.position = offset;
        c.fetchOffset = offset;
        c.reset = undefined;
      });
    } catch {
      if (this.#scope.closed) return;
      for (const [i, c] of starting.entries()) if (c.reset !== undefined && c.epoch === epochs[i]) await this.#resolveStart(c);
    }
  }

  /**
   * Resolves a pending start position with ListOffsets (retried by the
   * policy); a failure stops the partition and surfaces from the iterator.
   */
  async #resolveStart(c: Cursor): Promise<void> {
    const { ctx, stop } = this.#scope;
    const epoch = c.epoch;
    const options = { signal: stop };
    try {
      let [found] = await ctx.listOffsets([{ topic: c.topic, partition: c.partition, query: c.reset as OffsetQuery }], options);
      // A time no record is that recent for starts at the high watermark.
      if (found !== undefined && found.offset < 0n) [found] = await ctx.listOffsets([{ topic: c.topic, partition: c.partition, query: "latest" }], options);
      if (c.epoch !== epoch || found === undefined) return;
      c.position = found.offset;
      c.fetchOffset = found.offset;
      c.reset = undefined;
    } catch (error) {
      if (this.#scope.closed || c.epoch !== epoch) return;
      c.error = PolywireError.from(error);
      c.errorThrown = false;
    }
  }

  #absorb(ready: readonly Cursor[], epochs: readonly number[], message: FetchResponse, payload: Uint8Array, maxFrameSize: number): void {
    const { ctx, cursors } = this.#scope;
    let pos = 0;
    const total = message.partitions.reduce((sum, r) => sum + r.recordsSize, 0);
    if (total !== payload.byteLength || message.partitions.length !== ready.length) {
      throw new PolywireError("MALFORMED_FRAME", `a FetchResponse's partition sections (${total} bytes, ${message.partitions.length} results) do not match its payload (${payload.byteLength} bytes, ${ready.length} partitions asked) (PW-LOG-010)`);
    }
    for (let i = 0; i < ready.length; i++) {
      const c = ready[i] as Cursor;
      const result = message.partitions[i] as PartitionResult;
      const section = payload.subarray(pos, pos + result.recordsSize);
      pos += result.recordsSize;
      // Stale: the partition moved (seek) or was unassigned while the fetch was out.
      if (c.epoch !== epochs[i] || !cursors.current(c)) continue;
      const failure = this.#partitionError(c, result, maxFrameSize);
      if (failure !== undefined) {
        this.#stopOrReset(c, failure);
        continue;
      }
      c.highWatermark = result.highWatermark;
      if (section.byteLength === 0) continue;
      ctx.stats.bytesReceived += section.byteLength;
      try {
        for (const bytes of splitBatches(section)) {
          const header = readBatchHeader(bytes);
          const last = header.baseOffset + BigInt(header.recordCount) - 1n;
          if (last < c.fetchOffset) continue;
          cursors.push(c, { bytes, highWatermark: result.highWatermark, batch: undefined, next: 0 });
          c.fetchOffset = last + 1n;
        }
      } catch (error) {
        const failure = PolywireError.from(error, "CORRUPT_BATCH");
        ctx.stats.error(failure.code);
        c.error = new PolywireError(failure.code, `${c.topic}/${c.partition} at offset ${c.fetchOffset}: ${failure.message}`, { cause: failure });
      }
    }
    this.#scope.waiters.wake();
  }

  /** The error a partition's fetch result carries, described for this partition. */
  #partitionError(c: Cursor, result: PartitionResult, maxFrameSize: number): PolywireError | undefined {
    const tooLarge = result.errorCode === ErrorCode.BATCH_TOO_LARGE;
    return responseError(result, {
      what: `fetching ${c.topic}/${c.partition} at offset ${c.fetchOffset}`,
      // PW-LOG-018: the next batch does not fit in any frame this client accepts.
      ...(tooLarge ? {
        detail: `: the next batch is larger than a frame this client accepts, its maxFrameSize of ${maxFrameSize} bytes (PW-LOG-018); raise it with connect(urls, { maxFrameSize }) or polywire consume --max-frame-size`,
        limit: maxFrameSize,
      } : {}),
    });
  }

  /** A partition's fetch failed: move it per autoOffsetReset when out of range, else stop it with the error. */
  #stopOrReset(c: Cursor, error: PolywireError): void {
    const { ctx, cursors, settings } = this.#scope;
    ctx.stats.error(error.code);
    if (error.code === "OFFSET_OUT_OF_RANGE" && settings.reset !== "none") {
      // PW-LOG-015: reset per autoOffsetReset and go on.
      cursors.move(c, settings.reset);
      return;
    }
    if (error.code === "UNKNOWN_TOPIC" || error.code === "UNKNOWN_PARTITION") ctx.metadata.invalidate(c.topic);
    c.error = error;
    c.errorThrown = false;
  }
}
