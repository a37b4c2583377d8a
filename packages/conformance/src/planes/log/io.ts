import { Acks, OffsetSpec, type FetchPartitionResult, type FetchResponse, type ProduceResponse } from "@polywire/proto/log";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { BatchError, decodeBatch, encodeBatch, splitSection, type BatchHeader, type EncodeOptions, type StoredRecord, type TestRecord } from "../../batch/batch.js";
import { check, ClauseViolation } from "../../clause.js";
import { codeName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";

/** Produces `records` as one batch and resolves with the ProduceResponse. */
export async function produce(
  session: WireSession,
  topic: string,
  partition: number,
  records: readonly TestRecord[],
  options: EncodeOptions & { acks?: Acks; timeoutMs?: number } = {},
): Promise<ProduceResponse> {
  const batch = encodeBatch(records, options);
  const { message } = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition, acks: options.acks ?? Acks.LEADER, timeoutMs: options.timeoutMs ?? 0 }, batch);
  check("PW-LOG-009", message.errorCode === ErrorCode.UNSPECIFIED, `ProduceResponse.error_code is ${codeName(message.errorCode)}; v1 reports failures with Error frames`);
  return message;
}

/** A partition section of a fetch: the result, its batches, and their decoded records. */
export interface FetchedSection {
  readonly result: FetchPartitionResult;
  readonly batches: readonly Uint8Array[];
  readonly headers: readonly BatchHeader[];
  readonly records: readonly StoredRecord[];
}

/**
 * Splits a FetchResponse payload into its partition sections and decodes
 * every batch, checking the rules every fetch obeys: one result per
 * partition in request order and sections laid end to end (PW-LOG-010),
 * whole valid batches (PW-LOG-011), nothing at or above the high watermark
 * (PW-LOG-012), dense offsets (PW-LOG-030).
 */
export function splitFetch(response: FetchResponse, payload: Uint8Array, requested: ReadonlyArray<{ topic: string; partition: number }>): FetchedSection[] {
  check("PW-LOG-010", response.partitions.length === requested.length, `FetchResponse has ${response.partitions.length} results for ${requested.length} partitions`);
  const sections: FetchedSection[] = [];
  let pos = 0;
  response.partitions.forEach((result, i) => {
    const asked = requested[i] as { topic: string; partition: number };
    check("PW-LOG-010", result.topic === asked.topic && result.partition === asked.partition, `result ${i} is ${result.topic}/${result.partition}, the request asked ${asked.topic}/${asked.partition} there`);
    check("PW-LOG-010", pos + result.recordsSize <= payload.length, `records_size values add up to more than the ${payload.length}-byte payload`);
    const section = payload.subarray(pos, pos + result.recordsSize);
    pos += result.recordsSize;
    let batches: Uint8Array[];
    const headers: BatchHeader[] = [];
    const records: StoredRecord[] = [];
    try {
      batches = splitSection(section);
      for (const b of batches) {
        const decoded = decodeBatch(b);
        headers.push(decoded.header);
        records.push(...decoded.records);
      }
    } catch (error) {
      if (error instanceof BatchError) throw new ClauseViolation("PW-LOG-011", `the broker served a batch of ${asked.topic}/${asked.partition} that is not whole and valid: ${error.message}`);
      throw error;
    }
    for (let j = 1; j < records.length; j++) {
      check("PW-LOG-030", (records[j] as StoredRecord).offset === (records[j - 1] as StoredRecord).offset + 1n, `offsets ${(records[j - 1] as StoredRecord).offset} and ${(records[j] as StoredRecord).offset} follow each other in a fetch of ${asked.topic}/${asked.partition}`);
    }
    const last = records[records.length - 1];
    if (last !== undefined) check("PW-LOG-012", last.offset < result.highWatermark, `a fetch of ${asked.topic}/${asked.partition} returned offset ${last.offset}, at or above the high watermark ${result.highWatermark}`);
    sections.push({ result, batches, headers, records });
  });
  check("PW-LOG-010", pos === payload.length, `the payload has ${payload.length - pos} bytes beyond the sections the results describe`);
  return sections;
}

/** Fetches one partition from `offset` (no waiting) and returns its section. */
export async function fetchOnce(session: WireSession, topic: string, partition: number, offset: bigint, options: { maxBytes?: number; partitionMaxBytes?: number; maxWaitMs?: number; minBytes?: number } = {}): Promise<FetchedSection> {
  const partitions = [{ topic, partition, offset, maxBytes: options.partitionMaxBytes ?? 0 }];
  const { message, frame } = await session.call(FrameKind.FETCH_REQUEST, {
    partitions,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 0,
    maxBytes: options.maxBytes ?? 0,
  }, undefined, { timeoutMs: (options.maxWaitMs ?? 0) + 10_000 });
  return splitFetch(message, frame.payload, partitions)[0] as FetchedSection;
}

/** Reads a partition from `from` up to its high watermark, fetch after fetch; records below `from` are dropped. */
export async function readAll(session: WireSession, topic: string, partition: number, from = 0n): Promise<{ records: StoredRecord[]; highWatermark: bigint; batches: Uint8Array[] }> {
  const records: StoredRecord[] = [];
  const batches: Uint8Array[] = [];
  let offset = from;
  for (;;) {
    const section = await fetchOnce(session, topic, partition, offset, { maxBytes: 4 * 1024 * 1024 });
    check("PW-LOG-015", section.result.errorCode === ErrorCode.UNSPECIFIED, `fetching ${topic}/${partition} at ${offset} (high watermark ${section.result.highWatermark}) failed with ${codeName(section.result.errorCode)}`);
    const fresh = section.records.filter((r) => r.offset >= offset);
    if (section.records.length > 0) {
      check("PW-LOG-011", (section.records[0] as StoredRecord).offset <= offset, `a fetch at ${offset} began with offset ${(section.records[0] as StoredRecord).offset}: it must begin with the batch holding the requested offset`);
    }
    records.push(...fresh);
    batches.push(...section.batches);
    const last = records[records.length - 1];
    if (last !== undefined) offset = last.offset + 1n;
    if (offset >= section.result.highWatermark || section.records.length === 0) return { records, highWatermark: section.result.highWatermark, batches };
  }
}

/** ListOffsets of one partition; resolves with the result. */
export async function listOffset(session: WireSession, topic: string, partition: number, spec: OffsetSpec, timestampMs = 0n): Promise<{ errorCode: number; offset: bigint; timestampMs: bigint }> {
  const { message } = await session.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic, partition, spec, timestampMs }] });
  check("PW-LOG-024", message.partitions.length === 1, `ListOffsetsResponse has ${message.partitions.length} results for 1 partition`);
  return message.partitions[0] as { errorCode: number; offset: bigint; timestampMs: bigint };
}

/** The high watermark by ListOffsets LATEST. */
export async function highWatermark(session: WireSession, topic: string, partition: number): Promise<bigint> {
  const r = await listOffset(session, topic, partition, OffsetSpec.LATEST);
  check("PW-LOG-020", r.errorCode === ErrorCode.UNSPECIFIED, `ListOffsets LATEST of ${topic}/${partition} failed with ${codeName(r.errorCode)}`);
  return r.offset;
}
