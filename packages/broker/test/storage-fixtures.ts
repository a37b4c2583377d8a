import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeBatch, encodeBatch, init, splitBatches, verifyBatch, type BatchHeader, type Compression } from "@polywire/wasm-codec";
import type { ReadResult } from "../src/storage/storage.js";

/** Shared helpers of the storage tests: real batches from the codec, real temp directories. */

export interface BatchSpec {
  readonly values: readonly string[];
  /** Timestamp of the first record; the i-th gets `timestamp + i`. */
  readonly timestamp?: number;
  readonly timestamps?: readonly number[];
  readonly producerId?: bigint;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly compression?: Compression;
}

/** A verified batch ready to append, as the server hands it to storage. */
export interface MadeBatch {
  readonly bytes: Uint8Array;
  readonly header: BatchHeader;
}

export function makeBatch(spec: BatchSpec): MadeBatch {
  const t0 = spec.timestamp ?? 1_700_000_000_000;
  const bytes = encodeBatch(
    spec.values.map((v, i) => ({ key: null, value: new TextEncoder().encode(v), timestamp: spec.timestamps?.[i] ?? t0 + i })),
    {
      compression: spec.compression ?? "none",
      minCompressSize: 0,
      ...(spec.producerId === undefined ? {} : { producerId: spec.producerId, producerEpoch: spec.producerEpoch ?? 0, baseSequence: spec.baseSequence ?? 0 }),
    },
  );
  return { bytes, header: verifyBatch(bytes) };
}

/** Every record of a read, as [offset, value] pairs, skipping records below `from`. */
export function recordsOf(result: ReadResult, from = 0n): [bigint, string][] {
  const out: [bigint, string][] = [];
  for (const chunk of result.chunks) {
    for (const batch of splitBatches(chunk)) {
      for (const record of decodeBatch(batch).records) {
        if (record.offset >= from) out.push([record.offset, new TextDecoder().decode(record.value ?? new Uint8Array())]);
      }
    }
  }
  return out;
}

export async function tempDirectory(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "polywire-storage-"));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

export const codecReady = init();
