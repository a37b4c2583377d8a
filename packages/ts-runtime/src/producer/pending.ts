import type { PolywireError } from "@polywire/core";
import type { PreparedRecord, ProducerRecord } from "../record.js";
import type { RecordMetadata } from "./reports.js";

// What waits in the producer's intake queue: single records, the records
// of one sendBatch, and flush markers, in the order they were handed in.

/** Queued behind the records of earlier sends; when reached, seals every open batch for `flush`. */
export interface FlushMarker {
  readonly kind: "marker";
  /** Receives the ordinal every batch holding an earlier record is below. */
  reached(ordinalLimit: number): void;
}

/** The records of one `sendBatch`, checked together before the first is accepted. */
export interface Group {
  readonly kind: "group";
  readonly pendings: Pending[];
  checked: boolean;
  next: number;
}

/** One record from `send` to its outcome. */
export interface Pending {
  readonly kind: "record";
  readonly input: ProducerRecord;
  readonly record: PreparedRecord;
  partition: number;
  /** Counted in the buffer. */
  accepted: boolean;
  settled: boolean;
  resolve(meta: RecordMetadata): void;
  reject(error: PolywireError): void;
  readonly promise: Promise<RecordMetadata>;
}

export type IntakeEntry = Pending | Group | FlushMarker;

export const noop = (): void => {};

/** A record not yet partitioned nor counted in the buffer, with the promise `send` returns. */
export function pendingRecord(input: ProducerRecord, record: PreparedRecord): Pending {
  let resolve!: (meta: RecordMetadata) => void;
  let reject!: (error: PolywireError) => void;
  const promise = new Promise<RecordMetadata>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { kind: "record", input, record, partition: -1, accepted: false, settled: false, resolve, reject, promise };
}
