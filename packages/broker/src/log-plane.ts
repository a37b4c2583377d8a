import { setMaxListeners } from "node:events";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Acks, FetchPartitionResultSchema, FetchResponseSchema, InitProducerResponseSchema, ListOffsetsResponseSchema, ListOffsetsResultSchema,
  MetadataResponseSchema, OffsetSpec, TopicMetadataSchema,
  type FetchPartitionResult, type FetchRequest, type ListOffsetsResult, type TopicMetadata,
} from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { PolywireError } from "@polywire/core";
import { BATCH_LENGTH_PREFIX, BatchField, frameSize, verifyBatch, type BatchHeader } from "@polywire/wasm-codec";
import { toPolywireError } from "./errors.js";
import { pendingResultSize, resultSize } from "./fetch-size.js";
import type { BrokerLimits } from "./limits.js";
import type { BrokerMetrics } from "./metrics.js";
import { decodeProduceRequest, encodeProduceResponse } from "./produce-codec.js";
import { route, routeMap, type Reply, type Route } from "./route.js";
import type { PartitionLog, Storage } from "./storage/storage.js";
import { quote } from "./quote.js";

/** What the log-plane handlers need from the broker. */
export interface LogPlaneHost {
  readonly storage: Storage;
  readonly limits: BrokerLimits;
  readonly metrics: BrokerMetrics;
  readonly brokerId: string;
  readonly clusterId: string;
  /** The URLs clients can reach this broker at, for MetadataResponse. */
  readonly urls: () => readonly string[];
  /** The admin listener's base URL for BrokerInfo.admin_url (PW-ADMIN-061); empty without one. */
  readonly adminUrl: () => string;
  /** Default ACKS_ALL durability deadline when `timeout_ms` is 0 (PW-LOG-008). */
  readonly produceTimeoutMs: number;
}

const DEFAULT_FETCH_MAX_BYTES = 8 * 1024 * 1024;


function errorCode(error: unknown): ErrorCode {
  return ErrorCode[toPolywireError(error).code];
}

/**
 * Counts the records of whole batches laid end to end in `chunks`, which
 * may split a batch anywhere (storage's own bytes: their lengths are
 * trusted). Reads only move forward, so the walk is linear in batches and chunks.
 */
function countRecords(chunks: readonly Uint8Array[]): number {
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  let index = 0;
  let base = 0;
  const byteAt = (at: number): number => {
    while (at >= base + (chunks[index] as Uint8Array).byteLength) base += (chunks[index++] as Uint8Array).byteLength;
    return (chunks[index] as Uint8Array)[at - base] as number;
  };
  const u32At = (at: number): number => ((byteAt(at) * 256 + byteAt(at + 1)) * 256 + byteAt(at + 2)) * 256 + byteAt(at + 3);
  let records = 0;
  for (let pos = 0; pos + BatchField.recordCount + 4 <= size; pos += BATCH_LENGTH_PREFIX + u32At(pos + BatchField.batchLength)) {
    records += u32At(pos + BatchField.recordCount);
  }
  return records;
}

function produceRoute(host: LogPlaneHost): Route {
  const { storage, limits, metrics } = host;
  return route({
    kind: FrameKind.PRODUCE_REQUEST,
    decode: decodeProduceRequest,
    answers: (m) => m.acks !== Acks.NONE,
    handle: ({ message, frame, session }) => {
      if (!(message.acks in Acks)) {
        throw new PolywireError("INVALID_ARGUMENT", `unknown acks value ${message.acks} (PW-COMPAT-004)`);
      }
      const batch = frame.payload;
      if (batch.byteLength > limits.maxBatchSize) {
        throw new PolywireError("BATCH_TOO_LARGE", `a ${batch.byteLength}-byte batch exceeds max_batch_size ${limits.maxBatchSize} (PW-LIM-003)`, { limit: limits.maxBatchSize });
      }
      const log = storage.partition(message.topic, message.partition);
      let header: BatchHeader;
      try {
        header = verifyBatch(batch, { maxUncompressedSize: limits.maxUncompressedBatchSize });
      } catch (error) {
        const failure = toPolywireError(error);
        if (failure.code === "DECOMPRESSION_LIMIT") {
          throw new PolywireError("DECOMPRESSION_LIMIT", failure.message, { cause: failure, limit: limits.maxUncompressedBatchSize });
        }
        throw failure;
      }
      if (header.producerId >= 0n && !session.features.has(Feature.IDEMPOTENCE)) {
        throw new PolywireError("FEATURE_NOT_NEGOTIATED", "an idempotent batch needs FEATURE_IDEMPOTENCE (PW-SESS-006)");
      }
      const synced = message.acks === Acks.ALL;
      const appended = log.append(batch, header, { durability: synced ? "synced" : "visible" });
      const topic = metrics.topic(message.topic);
      const result = appended.then((r) => {
        if (!r.duplicate) {
          topic.bytesIn.inc(batch.byteLength);
          topic.recordsIn.inc(header.recordCount);
        }
        if (message.acks === Acks.NONE) return undefined;
        const response = encodeProduceResponse({
          baseOffset: r.baseOffset,
          logAppendTimeMs: BigInt(r.appendTimeMs),
          logStartOffset: r.logStartOffset,
          duplicate: r.duplicate,
        });
        return { message: response } satisfies Reply;
      });
      if (!synced) return result;
      // PW-LOG-008: durability that takes too long is reported, indeterminately, as TIMEOUT.
      const timeoutMs = message.timeoutMs || host.produceTimeoutMs;
      return new Promise<Reply | undefined>((resolve, reject) => {
        const timer = setTimeout(() => reject(new PolywireError("TIMEOUT", `the batch was not durable within ${timeoutMs} ms; it may still become durable (PW-LOG-008)`)), timeoutMs);
        result.then(
          (reply) => { clearTimeout(timer); resolve(reply); },
          (error: unknown) => { clearTimeout(timer); reject(error); },
        );
      });
    },
  });
}

interface PartitionRead {
  result: FetchPartitionResult;
  chunks: readonly Uint8Array[];
  log: PartitionLog | undefined;
}

/**
 * Reads each partition of a fetch within `responseMax` bytes of batches
 * (PW-LOG-013) and `frameBudget`, the bytes of the client's largest frame
 * left after the header and checksum: the message is sized exactly, with
 * the partitions not read yet at their widest (PW-FRAME-007, PW-LOG-018).
 */
async function readPartitions(storage: Storage, request: FetchRequest, responseMax: number, frameBudget: number): Promise<{ reads: PartitionRead[]; total: number; failed: boolean }> {
  const reads: PartitionRead[] = [];
  let total = 0;
  let failed = false;
  // Message bytes of the results already decided, and the most the others can take.
  let decided = 0;
  let pending = request.partitions.reduce((sum, p) => sum + pendingResultSize(p.topic, p.partition), 0);
  for (const p of request.partitions) {
    pending -= pendingResultSize(p.topic, p.partition);
    const result = create(FetchPartitionResultSchema, { topic: p.topic, partition: p.partition });
    let log: PartitionLog | undefined;
    let chunks: readonly Uint8Array[] = [];
    try {
      log = storage.partition(p.topic, p.partition);
      const remaining = responseMax - total;
      const budget = Math.min(p.maxBytes || Number.MAX_SAFE_INTEGER, remaining);
      if (budget > 0 || total === 0) {
        const read = await log.read(p.offset, Math.max(budget, 1));
        result.highWatermark = read.highWatermark;
        result.logStartOffset = read.logStartOffset;
        // PW-FRAME-007: a batch that cannot fit in the frame even as its only batch is reported, not sent.
        const room = frameBudget - decided - pending - resultSize({ ...result, recordsSize: read.size });
        if (read.size > room) {
          throw new PolywireError("BATCH_TOO_LARGE", `the batch at offset ${p.offset} is larger than the client's max_frame_size allows`);
        }
        // PW-LOG-013: only the response's first batch may exceed the budget; every batch must fit the frame.
        if (read.size > 0 && (total === 0 || read.size <= remaining) && total + read.size <= room) {
          chunks = read.chunks;
          result.recordsSize = read.size;
          total += read.size;
        }
      } else {
        result.highWatermark = log.highWatermark();
        result.logStartOffset = log.logStartOffset();
        if (p.offset < result.logStartOffset || p.offset > result.highWatermark) {
          throw new PolywireError("OFFSET_OUT_OF_RANGE", "offset out of range");
        }
      }
    } catch (error) {
      result.errorCode = errorCode(error);
      if (log !== undefined) {
        result.highWatermark = log.highWatermark();
        result.logStartOffset = log.logStartOffset();
      }
      failed = true;
    }
    decided += resultSize(result);
    reads.push({ result, chunks, log });
  }
  return { reads, total, failed };
}

/** Resolves when any partition's high watermark moves past what was read, the deadline passes or `signal` aborts. */
async function waitForAny(reads: readonly PartitionRead[], deadline: number, signal: AbortSignal): Promise<void> {
  const wait = deadline - performance.now();
  if (wait <= 0 || signal.aborted) return;
  const controller = new AbortController();
  // One listener per partition waited on: a fan-out bounded by the fetch, not a leak.
  setMaxListeners(reads.length + 1, controller.signal);
  const onAbort = (): void => controller.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(onAbort, wait);
  try {
    await Promise.race(reads.filter((r) => r.log !== undefined).map((r) => (r.log as PartitionLog).waitForData(r.result.highWatermark, controller.signal)));
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    controller.abort();
  }
}

function fetchRoute(host: LogPlaneHost): Route {
  const { storage, metrics } = host;
  return route({
    kind: FrameKind.FETCH_REQUEST,
    handle: async ({ message, session }) => {
      const named = new Set<string>();
      for (const p of message.partitions) {
        // Topic names cannot contain NUL (PW-ADMIN-010), so the key is unique.
        const key = `${p.topic}\u0000${p.partition}`;
        if (named.has(key)) throw new PolywireError("INVALID_ARGUMENT", `the fetch names partition ${p.partition} of ${quote(p.topic)} twice (PW-LOG-017)`);
        named.add(key);
      }
      // The frame header, and the CRC-32C when the session checksums its frames (PW-SESS-026).
      const frameBudget = session.clientMaxFrameSize - frameSize(0, 0, session.features.has(Feature.FRAME_CHECKSUM));
      const responseMax = Math.max(1, Math.min(message.maxBytes || DEFAULT_FETCH_MAX_BYTES, frameBudget));
      const minBytes = message.minBytes || 1;
      const deadline = performance.now() + message.maxWaitMs;
      let read = await readPartitions(storage, message, responseMax, frameBudget);
      while (read.total < minBytes && !read.failed && !session.signal.aborted && performance.now() < deadline && message.partitions.length > 0) {
        await waitForAny(read.reads, deadline, session.signal);
        read = await readPartitions(storage, message, responseMax, frameBudget);
      }
      if (read.total > 0) await session.awaitWritable();
      // The chunks storage served go to the socket as they are: one writev, no copy (a WebSocket joins them into its one message).
      const payload: Uint8Array[] = [];
      for (const r of read.reads) {
        if (r.result.recordsSize === 0) continue;
        payload.push(...r.chunks);
        const topic = metrics.topic(r.result.topic);
        topic.bytesOut.inc(r.result.recordsSize);
        topic.recordsOut.inc(countRecords(r.chunks));
      }
      const response = create(FetchResponseSchema, { partitions: read.reads.map((r) => r.result) });
      return { message: toBinary(FetchResponseSchema, response), payload };
    },
  });
}

function listOffsetsRoute(host: LogPlaneHost): Route {
  const { storage } = host;
  return route({
    kind: FrameKind.LIST_OFFSETS_REQUEST,
    handle: async ({ message }) => {
      const results: ListOffsetsResult[] = [];
      for (const p of message.partitions) {
        const result = create(ListOffsetsResultSchema, { topic: p.topic, partition: p.partition, offset: -1n, timestampMs: -1n });
        try {
          const log = storage.partition(p.topic, p.partition);
          switch (p.spec) {
            case OffsetSpec.EARLIEST:
              result.offset = log.logStartOffset();
              break;
            case OffsetSpec.LATEST:
              result.offset = log.highWatermark();
              break;
            case OffsetSpec.TIMESTAMP: {
              const found = await log.offsetForTimestamp(Number(p.timestampMs));
              if (found !== null) {
                result.offset = found.offset;
                result.timestampMs = BigInt(found.timestampMs);
              }
              break;
            }
            default:
              throw new PolywireError("INVALID_ARGUMENT", "spec must be EARLIEST, LATEST or TIMESTAMP");
          }
        } catch (error) {
          result.errorCode = errorCode(error);
        }
        results.push(result);
      }
      const response = create(ListOffsetsResponseSchema, { partitions: results });
      return { message: toBinary(ListOffsetsResponseSchema, response) };
    },
  });
}

function metadataRoute(host: LogPlaneHost): Route {
  const { storage } = host;
  return route({
    kind: FrameKind.METADATA_REQUEST,
    handle: ({ message }) => {
      const names = message.topics.length === 0 ? storage.listTopics().map((t) => t.name) : message.topics;
      const topics: TopicMetadata[] = names.map((name) => {
        let info;
        try {
          info = storage.topic(name);
        } catch (error) {
          return create(TopicMetadataSchema, { name, errorCode: errorCode(error) });
        }
        const partitions = [];
        for (let p = 0; p < info.partitions; p++) {
          const log = storage.partition(name, p);
          partitions.push({ partition: p, leaderId: host.brokerId, highWatermark: log.highWatermark(), logStartOffset: log.logStartOffset() });
        }
        return create(TopicMetadataSchema, { name, partitioner: "murmur2", partitions });
      });
      const response = create(MetadataResponseSchema, {
        clusterId: host.clusterId,
        brokers: [{ brokerId: host.brokerId, urls: [...host.urls()], adminUrl: host.adminUrl() }],
        topics,
      });
      return { message: toBinary(MetadataResponseSchema, response) };
    },
  });
}

function initProducerRoute(host: LogPlaneHost): Route {
  return route({
    kind: FrameKind.INIT_PRODUCER_REQUEST,
    handle: async ({ message }) => {
      const granted = await host.storage.initProducer(message.producerId, message.producerEpoch);
      const response = create(InitProducerResponseSchema, { producerId: granted.producerId, producerEpoch: granted.producerEpoch });
      return { message: toBinary(InitProducerResponseSchema, response) };
    },
  });
}

/** The routes of the log plane (§7): produce, fetch, list offsets, metadata, init producer. */
export function logPlaneRoutes(host: LogPlaneHost): Map<number, Route> {
  return routeMap([produceRoute(host), fetchRoute(host), listOffsetsRoute(host), metadataRoute(host), initProducerRoute(host)]);
}
