import { OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import type { CallResult } from "./connection.js";
import type { OffsetRequest, PartitionOffset } from "./context.js";
import { PolywireError } from "@polywire/core";
import { result } from "./json.js";
import type { BrokerLink } from "./broker-link.js";
import type { MetadataCache } from "./metadata.js";
import { responseError } from "./response-errors.js";
import type { RequestInit } from "@polywire/core";
import type { StatsCollector } from "./stats.js";

type ListOffsetsKind = typeof FrameKind.LIST_OFFSETS_REQUEST;

/** What resolving offsets needs of a client. */
export interface OffsetsClient {
  leader(topic: string, partition: number, signal?: AbortSignal): Promise<BrokerLink>;
  /** Sends a ListOffsets request on `link`, retried by the client's policy. */
  request(link: BrokerLink, init: RequestInit<ListOffsetsKind>, signal: AbortSignal | undefined): Promise<CallResult<ListOffsetsKind>>;
  readonly metadata: MetadataCache;
  readonly stats: StatsCollector;
}

/**
 * Resolves offsets by position or time (PW-LOG-020, PW-LOG-021), in the
 * order asked, sending one ListOffsets request per partition leader.
 * Rejects with the first partition's error (UNKNOWN_TOPIC, ...), after
 * forgetting the metadata of a topic the leader does not know.
 */
export async function listOffsets(client: OffsetsClient, queries: readonly OffsetRequest[], signal: AbortSignal | undefined): Promise<PartitionOffset[]> {
  const byLink = new Map<BrokerLink, number[]>();
  for (let i = 0; i < queries.length; i++) {
    const q = queries[i] as (typeof queries)[number];
    const link = await client.leader(q.topic, q.partition, signal);
    byLink.set(link, [...(byLink.get(link) ?? []), i]);
  }
  const results: PartitionOffset[] = new Array<PartitionOffset>(queries.length);
  await Promise.all([...byLink].map(async ([link, indexes]) => {
    const partitions = indexes.map((i) => {
      const { topic, partition, query } = queries[i] as (typeof queries)[number];
      if (query === "earliest") return { topic, partition, spec: OffsetSpec.EARLIEST };
      if (query === "latest") return { topic, partition, spec: OffsetSpec.LATEST };
      const ts = query.timestamp instanceof Date ? query.timestamp.getTime() : query.timestamp;
      if (!Number.isSafeInteger(ts)) throw new PolywireError("INVALID_ARGUMENT", `an offset query timestamp must be a Date or integer Unix ms, got ${String(query.timestamp)}`);
      return { topic, partition, spec: OffsetSpec.TIMESTAMP, timestampMs: BigInt(ts) };
    });
    const { message } = await client.request(link, { partitions }, signal);
    indexes.forEach((index, n) => {
      const r = message.partitions[n];
      const q = queries[index] as (typeof queries)[number];
      if (r === undefined) throw new PolywireError("MALFORMED_FRAME", "ListOffsetsResponse has fewer results than requested (PW-LOG-024)");
      const failure = responseError(r, { what: `listing offsets of ${q.topic}/${q.partition}` });
      if (failure !== undefined) {
        if (r.errorCode === ErrorCode.UNKNOWN_TOPIC || r.errorCode === ErrorCode.UNKNOWN_PARTITION) client.metadata.invalidate(q.topic);
        client.stats.error(failure.code);
        throw failure;
      }
      results[index] = result({ topic: q.topic, partition: q.partition, offset: r.offset, timestamp: Number(r.timestampMs) });
    });
  }));
  return results;
}
