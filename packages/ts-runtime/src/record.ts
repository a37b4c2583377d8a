import { BATCH_HEADER_SIZE, BatchRecords, type DecodedRecord, type RecordHeader, type RecordInput } from "@polywire/wasm-codec";
import { PolywireError } from "@polywire/core";
import { bytesField } from "./json.js";

/** A header value: text (sent as UTF-8), bytes, or null (distinct from empty, PW-BATCH-013). */
export type HeaderValue = string | Uint8Array | null;

/**
 * Record headers: an object (one value per key, insertion order kept) or a
 * list of `[key, value]` pairs, where a key may repeat (PW-BATCH-012).
 */
export type RecordHeadersInit =
  | { readonly [key: string]: HeaderValue }
  | ReadonlyArray<readonly [string, HeaderValue]>;

/**
 * A record to produce. `value` and `key` are bytes, text (sent as UTF-8) or
 * null; null stays distinct from empty end to end (PW-BATCH-013). Without
 * `partition`, a keyed record goes where the topic's partitioner puts its
 * key (PW-PART-002) and an unkeyed one to the producer's sticky partition
 * (PW-PART-003).
 */
export interface ProducerRecord {
  /** The topic to append to. */
  readonly topic: string;
  /** The payload. */
  readonly value: Uint8Array | string | null;
  /** The partitioning key; default null. */
  readonly key?: Uint8Array | string | null;
  /** An explicit partition (PW-PART-004). */
  readonly partition?: number;
  /** Headers, order kept. */
  readonly headers?: RecordHeadersInit;
  /** Application message type id, opaque to the broker (PW-BATCH-014). Default 0 (untyped). */
  readonly typeId?: number;
  /** Record time as Unix ms or a Date. Default: when `send` is called. */
  readonly timestamp?: number | Date;
}

/** Everything of a {@link ProducerRecord} but its topic and value, for the {@link Record} builders. */
export type RecordOptions = Omit<ProducerRecord, "topic" | "value">;

const encoder = new TextEncoder();

/**
 * Builders for {@link ProducerRecord}s with the value as bytes, text or
 * JSON. They only shape the record; validation happens in `send`.
 *
 * ```ts
 * await producer.send(Record.json("orders", { id: 7 }, { key: "customer-1", headers: { source: "web" } }));
 * ```
 */
export const Record = Object.freeze({
  /** A record whose value is `value`'s bytes (or null). */
  bytes(topic: string, value: Uint8Array | null, options: RecordOptions = {}): ProducerRecord {
    return { ...options, topic, value };
  },
  /** A record whose value is `text` as UTF-8. */
  text(topic: string, text: string, options: RecordOptions = {}): ProducerRecord {
    if (typeof text !== "string") throw new PolywireError("INVALID_ARGUMENT", "Record.text needs a string value");
    return { ...options, topic, value: text };
  },
  /**
   * A record whose value is `JSON.stringify(value)` as UTF-8. Values JSON
   * cannot represent (undefined, functions, BigInt, cycles) throw
   * INVALID_ARGUMENT.
   */
  json(topic: string, value: unknown, options: RecordOptions = {}): ProducerRecord {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw new PolywireError("INVALID_ARGUMENT", `the record value cannot be serialised as JSON: ${(cause as Error).message}`, { cause });
    }
    if (text === undefined) throw new PolywireError("INVALID_ARGUMENT", `a ${typeof value} value has no JSON form`);
    return { ...options, topic, value: text };
  },
  /** A record with a null value: a deletion marker for `key` in compacted topics. */
  tombstone(topic: string, key: Uint8Array | string, options: Omit<RecordOptions, "key"> = {}): ProducerRecord {
    return { ...options, topic, key, value: null };
  },
});

/**
 * A record validated and encoded for the codec: bytes for key, value and
 * headers, a resolved timestamp, and its size bounds.
 */
export interface PreparedRecord extends RecordInput {
  readonly topic: string;
  readonly partition: number | undefined;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: RecordHeader[];
  readonly typeId: number;
  readonly timestamp: number;
  /** An upper bound of the bytes this record takes in any batch. */
  readonly size: number;
  /** The exact size of a batch holding only this record, uncompressed. */
  readonly aloneBatchSize: number;
}

function varintSize(value: number): number {
  // Zigzag, then unsigned LEB128 (spec: sint64).
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// Strings with a lone surrogate have no UTF-8 form; TextEncoder would silently replace it.
function wellFormed(text: string): boolean {
  return !loneSurrogate.test(text);
}

function toBytes(value: Uint8Array | string | null | undefined, what: string): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") {
    if (!wellFormed(value)) throw new PolywireError("INVALID_ARGUMENT", `the record ${what} is not well-formed Unicode (lone surrogate)`);
    return encoder.encode(value);
  }
  throw new PolywireError("INVALID_ARGUMENT", `the record ${what} must be a Uint8Array, a string or null, got ${typeof value}`);
}

function toHeaders(init: RecordHeadersInit | undefined): RecordHeader[] {
  if (init === undefined) return [];
  const pairs: ReadonlyArray<readonly [string, HeaderValue]> = Array.isArray(init)
    ? init as ReadonlyArray<readonly [string, HeaderValue]>
    : Object.entries(init as { readonly [key: string]: HeaderValue });
  return pairs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new PolywireError("INVALID_ARGUMENT", "headers must be [key, value] pairs");
    const [key, value] = pair;
    if (typeof key !== "string" || !wellFormed(key)) {
      throw new PolywireError("INVALID_ARGUMENT", "a header key must be a well-formed string (PW-BATCH-012)");
    }
    return { key, value: toBytes(value, `header ${JSON.stringify(key)}`) };
  });
}

/**
 * Validates `record` and turns it into codec input. Throws
 * INVALID_ARGUMENT with a message naming the bad field.
 */
export function prepareRecord(record: ProducerRecord, now: number): PreparedRecord {
  if (typeof record !== "object" || record === null) throw new PolywireError("INVALID_ARGUMENT", "a record must be an object");
  const { topic, partition, typeId = 0 } = record;
  if (typeof topic !== "string" || topic === "") throw new PolywireError("INVALID_ARGUMENT", "a record needs a non-empty topic");
  if (partition !== undefined && (!Number.isInteger(partition) || partition < 0 || partition > 0xffff_ffff)) {
    throw new PolywireError("INVALID_ARGUMENT", `partition must be a non-negative 32-bit integer, got ${String(partition)}`);
  }
  if (!Number.isInteger(typeId) || typeId < 0 || typeId > Number.MAX_SAFE_INTEGER) {
    throw new PolywireError("INVALID_ARGUMENT", `typeId must be a non-negative integer (PW-BATCH-014), got ${String(typeId)}`);
  }
  if (!("value" in record)) throw new PolywireError("INVALID_ARGUMENT", "a record needs a value (null for none)");
  const raw = record.timestamp;
  const timestamp = raw === undefined ? now : raw instanceof Date ? raw.getTime() : raw;
  if (!Number.isSafeInteger(timestamp)) {
    throw new PolywireError("INVALID_ARGUMENT", `timestamp must be a Date or an integer of Unix milliseconds, got ${String(raw)}`);
  }
  const key = toBytes(record.key, "key");
  const value = toBytes(record.value, "value");
  const headers = toHeaders(record.headers);
  // The record section layout of spec §5.2, with both deltas 0.
  let body = 1 + 1 + 1 + varintSize(typeId)
    + varintSize(key === null ? -1 : key.byteLength) + (key?.byteLength ?? 0)
    + varintSize(value === null ? -1 : value.byteLength) + (value?.byteLength ?? 0)
    + varintSize(headers.length);
  for (const h of headers) {
    const keyLength = h.key.length === 0 ? 0 : encoder.encode(h.key).byteLength;
    body += varintSize(keyLength) + keyLength + varintSize(h.value === null ? -1 : h.value.byteLength) + (h.value?.byteLength ?? 0);
  }
  const aloneBatchSize = BATCH_HEADER_SIZE + varintSize(body) + body;
  // In a larger batch the timestamp delta takes at most 10 bytes and the offset delta at most 5.
  const bounded = body - 2 + 10 + 5;
  return { topic, partition, key, value, headers, typeId, timestamp, size: varintSize(bounded) + bounded, aloneBatchSize };
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new PolywireError("INVALID_ARGUMENT", `the record ${what} is not valid UTF-8`, { cause });
  }
}

// The fields of a record built from a DecodedRecord are all known; one
// read from a batch materialises each field on first access.
const UNSET: unique symbol = Symbol("unset");

/**
 * The JSON form of a {@link ConsumedRecord} (`record.toJSON()`, and so
 * `JSON.stringify(record)`), the line format of `polywire consume --json`:
 * the offset is a decimal string; the key, value and header values are
 * UTF-8 text, or `keyBase64` / `valueBase64` when the bytes are not UTF-8;
 * null stays null.
 */
export interface ConsumedRecordJson {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: number;
  readonly key?: string | null;
  readonly keyBase64?: string;
  readonly value?: string | null;
  readonly valueBase64?: string;
  readonly headers: ReadonlyArray<{ readonly key: string; readonly value?: string | null; readonly valueBase64?: string }>;
  readonly typeId: number;
}

/**
 * A record read from a partition, with its offset and decoding helpers.
 * `key`, `value` and header values are bytes or null (PW-BATCH-013).
 *
 * Records the consumer hands out are read from their batch lazily: each
 * field is built on first access and then kept, so a loop that only looks
 * at `value` never builds offsets, keys or headers.
 */
export class ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly #batch: BatchRecords | undefined;
  readonly #index: number;
  #offset: bigint | typeof UNSET = UNSET;
  #key: Uint8Array | null | typeof UNSET = UNSET;
  #value: Uint8Array | null | typeof UNSET = UNSET;
  #headers: readonly RecordHeader[] | typeof UNSET = UNSET;
  #timestamp = 0;
  #typeId = 0;

  /**
   * A record of `topic`/`partition` from `decoded`: a decoded record, or a
   * batch opened with `openBatch` (`@polywire/wasm-codec`) and the index
   * of the record in it (default 0).
   */
  constructor(topic: string, partition: number, decoded: DecodedRecord | BatchRecords, index = 0) {
    this.topic = topic;
    this.partition = partition;
    if (decoded instanceof BatchRecords) {
      if (!(Number.isInteger(index) && index >= 0 && index < decoded.count)) {
        throw new PolywireError("INVALID_ARGUMENT", `record index ${String(index)} is outside the batch's 0..${decoded.count - 1}`);
      }
      this.#batch = decoded;
      this.#index = index;
    } else {
      this.#batch = undefined;
      this.#index = 0;
      this.#offset = decoded.offset;
      this.#key = decoded.key;
      this.#value = decoded.value;
      this.#headers = decoded.headers;
      this.#timestamp = decoded.timestamp;
      this.#typeId = decoded.typeId;
    }
  }

  /** The offset of this record in its partition. */
  get offset(): bigint {
    if (this.#offset === UNSET) this.#offset = (this.#batch as BatchRecords).offset(this.#index);
    return this.#offset;
  }

  /** Record time, Unix ms. */
  get timestamp(): number {
    return this.#batch === undefined ? this.#timestamp : this.#batch.timestamp(this.#index);
  }

  /** The key, or null. */
  get key(): Uint8Array | null {
    if (this.#key === UNSET) this.#key = (this.#batch as BatchRecords).key(this.#index);
    return this.#key;
  }

  /** The value, or null. */
  get value(): Uint8Array | null {
    if (this.#value === UNSET) this.#value = (this.#batch as BatchRecords).value(this.#index);
    return this.#value;
  }

  /** Headers in the order they were produced; keys may repeat. */
  get headers(): readonly RecordHeader[] {
    if (this.#headers === UNSET) this.#headers = (this.#batch as BatchRecords).headers(this.#index);
    return this.#headers;
  }

  /** Application message type id; 0 when untyped. */
  get typeId(): number {
    return this.#batch === undefined ? this.#typeId : this.#batch.typeId(this.#index);
  }

  /** The value as UTF-8 text. Throws INVALID_ARGUMENT for a null value or invalid UTF-8. */
  text(): string {
    const value = this.value;
    if (value === null) throw new PolywireError("INVALID_ARGUMENT", `record ${this.offset} of ${this.topic}/${this.partition} has a null value`);
    return decodeText(value, "value");
  }

  /** The value parsed as JSON. Throws INVALID_ARGUMENT for a null value or text that is not JSON. */
  json<T = unknown>(): T {
    const text = this.text();
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new PolywireError("INVALID_ARGUMENT", `record ${this.offset} of ${this.topic}/${this.partition} is not JSON: ${(cause as Error).message}`, { cause });
    }
  }

  /** The key as UTF-8 text, or null for a null key. */
  keyText(): string | null {
    const key = this.key;
    return key === null ? null : decodeText(key, "key");
  }

  /** The first value of header `key`: bytes, null, or undefined when absent. */
  header(key: string): Uint8Array | null | undefined {
    return this.headers.find((h) => h.key === key)?.value;
  }

  /** The record as JSON (see {@link ConsumedRecordJson}); `JSON.stringify(record)` uses it. */
  toJSON(): ConsumedRecordJson {
    const out: Record<string, unknown> = { topic: this.topic, partition: this.partition, offset: this.offset.toString(), timestamp: this.timestamp };
    bytesField(out, "key", this.key);
    bytesField(out, "value", this.value);
    out.headers = this.headers.map((h) => {
      const header: Record<string, unknown> = { key: h.key };
      bytesField(header, "value", h.value);
      return header;
    });
    out.typeId = this.typeId;
    return out as unknown as ConsumedRecordJson;
  }

  /** The first value of header `key` as UTF-8 text, null, or undefined when absent. */
  headerText(key: string): string | null | undefined {
    const value = this.header(key);
    return value === undefined || value === null ? value : decodeText(value, `header ${JSON.stringify(key)}`);
  }
}
