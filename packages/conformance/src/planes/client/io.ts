import type { MessageInitShape } from "@bufbuild/protobuf";
import { Acks, Capability, type Compression, type ConsumedRecord, type ProduceResult, type RecordSchema } from "@polywire/proto/conformance/adapter";
import { recordDifference, type StoredRecord, type TestRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { AdapterClient } from "../../client/adapter-client.js";
import type { CaseContext } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import { readAll } from "../log/io.js";
import { utf8 } from "../log/records.js";
import { ClientObserver, type CaseHooks } from "./observer.js";

/** The client under test (client cases run only with one). */
export function adapter(ctx: CaseContext): AdapterClient {
  return ctx.client as AdapterClient;
}

/** Skips the case unless the adapter declares every one of `capabilities`. */
export function requires(ctx: CaseContext, ...capabilities: Capability[]): void {
  const missing = capabilities.filter((c) => !adapter(ctx).can(c));
  if (missing.length > 0) throw new Unsupported(`the client adapter does not declare ${missing.map((c) => `CAPABILITY_${Capability[c]}`).join(", ")}`);
}

/** Starts the observing proxy and connects a client handle through it. */
export async function connected(ctx: CaseContext, hooks: CaseHooks = {}, options: { maxFrameSize?: number } = {}): Promise<{ observer: ClientObserver; handle: string }> {
  const observer = await ClientObserver.start(ctx, hooks);
  const handle = `${ctx.seed}-${Math.random().toString(36).slice(2)}`;
  await adapter(ctx).connect(handle, [observer.url], { requestTimeoutMs: 5000, ...options });
  ctx.defer(() => adapter(ctx).disconnect(handle).catch(() => undefined));
  return { observer, handle };
}

function toInstruction(r: TestRecord): MessageInitShape<typeof RecordSchema> {
  return {
    ...(r.key === null ? {} : { key: r.key }),
    ...(r.value === null ? {} : { value: r.value }),
    headers: r.headers.map((h) => ({ key: h.key, ...(h.value === null ? {} : { value: h.value }) })),
    typeId: r.typeId,
    timestampMs: r.timestamp,
  };
}

/** A record the client consumed, as the runner's codec gives stored records. */
export function fromConsumed(r: ConsumedRecord): StoredRecord {
  return { offset: r.offset, key: r.key ?? null, value: r.value ?? null, headers: r.headers.map((h) => ({ key: h.key, value: h.value ?? null })), typeId: r.typeId, timestamp: r.timestampMs };
}

/** Records for client cases: every field, type ids within 2^53-1 (what every language's client can hold exactly). */
export function clientRecords(): TestRecord[] {
  const now = BigInt(Date.now());
  const h = (key: string, value: string | null): TestRecord["headers"][number] => ({ key, value: value === null ? null : utf8(value) });
  return [
    { key: null, value: null, headers: [], typeId: 0n, timestamp: now },
    { key: new Uint8Array(0), value: new Uint8Array(0), headers: [], typeId: 1n, timestamp: now + 5n },
    { key: utf8("k"), value: utf8("v"), headers: [h("dup", "1"), h("dup", "2"), h("empty", ""), h("null", null)], typeId: 2n ** 53n - 1n, timestamp: now - 3n },
    { key: null, value: utf8("y".repeat(2000)), headers: [], typeId: 7n, timestamp: now + 100n },
  ];
}

/** Checks `actual` against `expected` record by record, offsets from `from`; a differing key, value or header breaks its batch clause. */
export function checkSame(clause: string, actual: readonly StoredRecord[], expected: readonly TestRecord[], from: bigint, what: string): void {
  checkEqual(clause, actual.length, expected.length, `records ${what}`);
  actual.forEach((r, i) => {
    checkEqual("PW-LOG-011", r.offset, from + BigInt(i), `offset of record ${i} ${what}`);
    const diff = recordDifference(r, expected[i] as TestRecord);
    check(diff === "key" || diff === "value" ? "PW-BATCH-013" : diff?.startsWith("header") === true ? "PW-BATCH-012" : clause, diff === undefined, `record ${i} ${what} differs in its ${diff}`);
  });
}

/** How the client under test produces. */
export interface ClientProduceOptions {
  /** The partition the records name; default 0, `null` for none (the client partitions by key). */
  readonly partition?: number | null;
  /** Default ACKS_LEADER. */
  readonly acks?: Acks;
  readonly idempotent?: boolean;
  readonly compression?: Compression;
  /** How long the adapter may take, ms. */
  readonly timeoutMs?: number;
}

/** Has the client under test produce `records` to `topic` and resolves with its outcome per record. */
export function produceVia(ctx: CaseContext, handle: string, topic: string, records: readonly TestRecord[], options: ClientProduceOptions = {}): Promise<ProduceResult> {
  const partition = options.partition === undefined ? 0 : options.partition;
  return adapter(ctx).produce({
    client: handle,
    topic,
    ...(partition === null ? {} : { partition }),
    records: records.map(toInstruction),
    acks: options.acks ?? Acks.LEADER,
    idempotent: options.idempotent ?? false,
    ...(options.compression === undefined ? {} : { compression: options.compression }),
  }, options.timeoutMs);
}

/** {@link produceVia}, then a violation of `clause` unless every record was delivered (`what` says how they were sent). */
export async function produceDelivered(ctx: CaseContext, handle: string, topic: string, records: readonly TestRecord[], clause: string, what: string, options: ClientProduceOptions = {}): Promise<ProduceResult> {
  const result = await produceVia(ctx, handle, topic, records, options);
  result.outcomes.forEach((o, i) => check(clause, o.outcome.case === "delivered", () => `record ${i} ${what} was not delivered: ${o.outcome.case === "error" ? o.outcome.value.message : "no outcome"}`));
  return result;
}

/** Reads partition 0 of `topic` with the runner's own session and compares it with `expected`, from offset 0. */
export async function readBack(ctx: CaseContext, topic: string, expected: readonly TestRecord[], clause: string, what: string): Promise<void> {
  const reader = await ctx.connect();
  const { records } = await readAll(reader, topic, 0);
  checkSame(clause, records, expected, 0n, what);
}

/** What {@link produceThroughClient} checks, and how the client produces. */
export interface ThroughClient extends ClientProduceOptions {
  /** The clause a record the client does not deliver breaks. */
  readonly clause: string;
  /** The clause a record read back different breaks; default `clause`. */
  readonly storedClause?: string;
  /** How the records were sent, for messages ("after the lost ack"). */
  readonly what: string;
}

/**
 * The client under test produces `records` to partition 0 of `topic`;
 * every record must be delivered, then the runner reads the partition back
 * with its own session and compares every record with what was sent.
 */
export async function produceThroughClient(ctx: CaseContext, handle: string, topic: string, records: readonly TestRecord[], through: ThroughClient): Promise<ProduceResult> {
  const { clause, storedClause, what, ...options } = through;
  const result = await produceDelivered(ctx, handle, topic, records, clause, what, options);
  await readBack(ctx, topic, records, storedClause ?? clause, `${what} and read back`);
  return result;
}
