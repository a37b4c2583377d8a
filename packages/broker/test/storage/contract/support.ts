import { expect } from "vitest";
import { OffsetBook, type OffsetLogEntry } from "../../../src/groups/offset-book.js";
import { StorageError } from "../../../src/storage/errors.js";
import type { PartitionLog, Storage, StorageOptions } from "../../../src/storage/storage.js";
import { tempDirectory } from "../../storage-fixtures.js";

/** Options every engine under test takes; an engine ignores the tuning it has no use for. */
export type ContractOptions = StorageOptions & {
  /** Disk: bytes between sparse index entries (small values make many entries). */
  readonly indexIntervalBytes?: number;
};

/** An engine the contract runs against. */
export interface EngineUnderTest {
  readonly name: string;
  /**
   * Opens storage on `directory`, a fresh temporary directory per test, or
   * the same one again to reopen what a previous open left. The retention
   * timer is off unless `options` sets it.
   */
  open(directory: string, options?: ContractOptions): Promise<Storage>;
  /** Whether topics, records, offsets and producer ids survive close and reopen (PW-LOG-030..032, PW-IDEM-006). */
  readonly durable: boolean;
}

/** Runs `body` with a fresh storage of `engine` in a temp directory, closing and cleaning up after. */
export async function withStorage(engine: EngineUnderTest, body: (storage: Storage, directory: string) => Promise<void>, options?: ContractOptions): Promise<void> {
  await using dir = await tempDirectory();
  const storage = await engine.open(dir.path, options);
  try {
    await body(storage, dir.path);
  } finally {
    await storage.close();
  }
}

/** Expects `promise` (or the call) to fail with a StorageError of `code`. */
export async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe(code);
    return;
  }
  throw new Error(`expected StorageError ${code}, but it succeeded`);
}

/** Whether the partition holds idempotence state of `producerId`: white-box, through the front's view of the engine's table. */
export function hasProducerState(log: PartitionLog, producerId: bigint): boolean {
  return (log as unknown as { producers: { has(id: bigint): boolean } }).producers.has(producerId);
}

/** How many producer ids the partition holds idempotence state of (white-box, as {@link hasProducerState}). */
export function producerStateSize(log: PartitionLog): number {
  return (log as unknown as { producers: { size: number } }).producers.size;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The groups plane's view of committed offsets over `storage`'s log: what it recovered, then new writes. */
export function offsetBook(storage: Storage): OffsetBook {
  const book = new OffsetBook(storage.groupOffsets, storage.groupOffsets.recovered());
  storage.groupOffsets.compactWith(() => book.snapshot());
  return book;
}

/** A commit entry of `[topic, partition, offset, metadata]` rows at time 1,000. */
export function commit(groupId: string, rows: readonly (readonly [string, number, bigint, string])[]): OffsetLogEntry {
  return { kind: "commit", groupId, offsets: rows.map(([topic, partition, offset, metadata]) => ({ topic, partition, offset, metadata, commitTimeMs: 1_000 })) };
}
