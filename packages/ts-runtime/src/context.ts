import type { FrameKind } from "@polywire/proto/session";
import type { Frame } from "@polywire/wasm-codec";
import type { CallResult, Connection, RequestOptions } from "./connection.js";
import type { PolywireError } from "@polywire/core";
import type { Jsonified } from "./json.js";
import type { BrokerLink } from "./broker-link.js";
import type { MetadataCache } from "./metadata.js";
import type { RetryPolicy } from "./retry.js";
import type { RequestInit, RequestKind } from "@polywire/core";
import type { CallOptions } from "./signal.js";
import type { StatsCollector } from "./stats.js";

// The seam between a client and what it creates: producers and consumers
// import this file, never client.ts, so that the client can import them
// without an import cycle.

/** Which offset {@link Client.listOffsets} resolves (PW-LOG-020, PW-LOG-021). */
export type OffsetQuery = "earliest" | "latest" | { readonly timestamp: number | Date };

/** One partition's answer of {@link Client.listOffsets}. */
export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The offset; -1n for a timestamp no record is that recent for. */
  readonly offset: bigint;
  /** The timestamp of the record at `offset` for a timestamp query, else -1. */
  readonly timestamp: number;
  /** The same fields with the offset as a decimal string, so that `JSON.stringify` works. */
  toJSON(): Jsonified<PartitionOffset>;
}

/** A partition and the offset query to resolve for it. */
export interface OffsetRequest {
  readonly topic: string;
  readonly partition: number;
  readonly query: OffsetQuery;
}

/** The limits a broker's Welcome set for a session, spec defaults filled in. */
export type SessionLimits = Connection["limits"];

/** Something a client closes when it closes, and fails when it gives up. */
export interface ClientResource {
  close(options?: CallOptions): Promise<void>;
  fail(error: PolywireError): void;
}

/**
 * What producers and consumers use of their client. Not part of the public
 * API: obtain producers and consumers with `client.producer()` and
 * `client.consumer()`.
 */
export interface ClientContext {
  readonly stats: StatsCollector;
  readonly retry: RetryPolicy;
  readonly metadata: MetadataCache;
  /** True once the client is closing or closed. */
  readonly closed: boolean;
  /** The link to the leader of a partition, or undefined when the topic's metadata is not cached. */
  leaderNow(topic: string, partition: number): BrokerLink | undefined;
  /** The link to the leader of a partition, looking the topic up when needed. */
  leader(topic: string, partition: number, signal?: AbortSignal): Promise<BrokerLink>;
  /**
   * The session limits of the partition's leader (batch and frame sizes,
   * idempotence window), or undefined while its metadata is not cached or
   * its connection is not up: a producer sizes batches with them without
   * walking client, pool, link and connection itself.
   */
  limits(topic: string, partition: number): SessionLimits | undefined;
  /** Sends a request on `connection`, recording latency and errors in the stats. */
  call<K extends RequestKind>(connection: Connection, kind: K, init: RequestInit<K>, payload?: Uint8Array, options?: RequestOptions): Promise<CallResult<K>>;
  /** Sends a request that is safe to repeat on the primary connection, retried by the policy. */
  request<K extends RequestKind>(kind: K, init: RequestInit<K>, options?: CallOptions): Promise<CallResult<K>>;
  listOffsets(queries: readonly OffsetRequest[], options?: CallOptions): Promise<PartitionOffset[]>;
  track(resource: ClientResource): () => void;
  /**
   * Calls `listener` with every unsolicited frame of `kind` (correlation id
   * 0) on the primary connection, across reconnects; returns the function
   * that stops it.
   */
  onPush(kind: FrameKind, listener: (frame: Frame) => void): () => void;
}
