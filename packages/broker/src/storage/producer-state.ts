import { crc32c } from "@polywire/wasm-codec";
import { StorageError } from "./errors.js";
import type { AppendHeader } from "./storage.js";

/** Sequence numbers wrap from 2^31-1 to 0 (PW-IDEM-002). */
const SEQUENCE_MODULUS = 2 ** 31;

/** One remembered batch of a producer on a partition. */
interface SequencedBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
}

/** A producer's state on one partition: its epoch there and its last batches, oldest first. */
interface ProducerEntry {
  epoch: number;
  batches: SequencedBatch[];
}

/** Where an idempotent batch goes: append it, or answer with an earlier offset. */
export type SequenceCheck = { readonly duplicateOf: number | null };

const APPEND: SequenceCheck = Object.freeze({ duplicateOf: null });

/** The epoch a producer id currently holds, or undefined if the broker never granted it. */
export type EpochLookup = (producerId: bigint) => number | undefined;

/** Tells the registry a producer id appended (or retried) a batch at `nowMs` (PW-IDEM-011). */
export type ActivityNote = (producerId: bigint, nowMs: number) => void;

function lastSequenceOf(firstSequence: number, recordCount: number): number {
  return (firstSequence + recordCount - 1) % SEQUENCE_MODULUS;
}

/**
 * Idempotent-producer state of one partition (PW-IDEM-002..006): per
 * producer id, the epoch and the last `window` batches' sequence ranges and
 * base offsets. It is derived from the log (every stored batch carries its
 * producer fields), so snapshots plus a replay of later batches rebuild it
 * exactly after a restart.
 */
export class ProducerStateTable {
  readonly #producers = new Map<bigint, ProducerEntry>();
  readonly #window: number;

  constructor(window: number) {
    this.#window = window;
  }

  /**
   * Decides what to do with an idempotent batch, or throws the spec's error.
   * Call only for batches with `producerId >= 0`.
   */
  check(header: AppendHeader, currentEpoch: EpochLookup): SequenceCheck {
    const granted = currentEpoch(header.producerId);
    if (granted === undefined || header.producerEpoch > granted) {
      throw new StorageError("UNKNOWN_PRODUCER", `producer id ${header.producerId} with epoch ${header.producerEpoch} was not granted by this broker`);
    }
    if (header.producerEpoch < granted) {
      throw new StorageError("PRODUCER_FENCED", `producer id ${header.producerId} epoch ${header.producerEpoch} is fenced by epoch ${granted}`);
    }
    const entry = this.#producers.get(header.producerId);
    if (entry === undefined || entry.epoch < header.producerEpoch) {
      if (header.baseSequence !== 0) {
        throw new StorageError("OUT_OF_ORDER_SEQUENCE", `first batch of producer ${header.producerId} epoch ${header.producerEpoch} on this partition must have sequence 0, got ${header.baseSequence}`);
      }
      return APPEND;
    }
    const last = lastSequenceOf(header.baseSequence, header.recordCount);
    for (const batch of entry.batches) {
      if (batch.firstSequence === header.baseSequence && batch.lastSequence === last) {
        return { duplicateOf: batch.baseOffset };
      }
    }
    const newest = entry.batches[entry.batches.length - 1];
    const expected = newest === undefined ? 0 : (newest.lastSequence + 1) % SEQUENCE_MODULUS;
    if (header.baseSequence !== expected) {
      throw new StorageError("OUT_OF_ORDER_SEQUENCE", `producer ${header.producerId} sent sequence ${header.baseSequence}, expected ${expected}`);
    }
    return APPEND;
  }

  /** Records an appended (or replayed) idempotent batch. */
  record(producerId: bigint, epoch: number, baseSequence: number, recordCount: number, baseOffset: number): void {
    let entry = this.#producers.get(producerId);
    if (entry === undefined || entry.epoch !== epoch) {
      entry = { epoch, batches: [] };
      this.#producers.set(producerId, entry);
    }
    entry.batches.push({ firstSequence: baseSequence, lastSequence: lastSequenceOf(baseSequence, recordCount), baseOffset });
    if (entry.batches.length > this.#window) entry.batches.shift();
  }

  get size(): number {
    return this.#producers.size;
  }

  /** Whether the table holds state of `producerId`. */
  has(producerId: bigint): boolean {
    return this.#producers.has(producerId);
  }

  /**
   * Drops the state of every producer `known` no longer names: ids the
   * registry forgot (PW-IDEM-011), whose batches can only be refused now.
   */
  retainKnown(known: (producerId: bigint) => boolean): void {
    for (const id of [...this.#producers.keys()]) {
      if (!known(id)) this.#producers.delete(id);
    }
  }

  /**
   * Serializes the table: u32 producer count, then per producer i64 id,
   * i16 epoch, u16 batch count and per batch u32 first, u32 last, u64 base
   * offset; a trailing CRC-32C of everything before it.
   */
  encode(): Uint8Array {
    let size = 4 + 4;
    for (const entry of this.#producers.values()) size += 12 + entry.batches.length * 16;
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.#producers.size);
    let at = 4;
    for (const [id, entry] of this.#producers) {
      view.setBigInt64(at, id);
      view.setInt16(at + 8, entry.epoch);
      view.setUint16(at + 10, entry.batches.length);
      at += 12;
      for (const batch of entry.batches) {
        view.setUint32(at, batch.firstSequence);
        view.setUint32(at + 4, batch.lastSequence);
        view.setBigUint64(at + 8, BigInt(batch.baseOffset));
        at += 16;
      }
    }
    view.setUint32(at, crc32c(bytes.subarray(0, at)));
    return bytes;
  }

  /** Reads an {@link encode}d table; returns null if it is damaged (the caller then replays the log instead). */
  static decode(bytes: Uint8Array, window: number): ProducerStateTable | null {
    if (bytes.byteLength < 8) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = bytes.byteLength - 4;
    if (view.getUint32(end) !== crc32c(bytes.subarray(0, end))) return null;
    const table = new ProducerStateTable(window);
    const count = view.getUint32(0);
    let at = 4;
    for (let i = 0; i < count; i++) {
      if (at + 12 > end) return null;
      const id = view.getBigInt64(at);
      const epoch = view.getInt16(at + 8);
      const batches = view.getUint16(at + 10);
      at += 12;
      if (at + batches * 16 > end) return null;
      const entry: ProducerEntry = { epoch, batches: [] };
      for (let b = 0; b < batches; b++) {
        entry.batches.push({ firstSequence: view.getUint32(at), lastSequence: view.getUint32(at + 4), baseOffset: Number(view.getBigUint64(at + 8)) });
        at += 16;
      }
      if (entry.batches.length > window) entry.batches.splice(0, entry.batches.length - window);
      table.#producers.set(id, entry);
    }
    return at === end ? table : null;
  }
}
