/**
 * Exact sizes of the FetchResponse message, so that a fetch answer can fill
 * the client's max_frame_size to the byte (PW-FRAME-007, PW-LOG-018): a
 * batch that fits in a frame the client accepts is sent, and only one that
 * cannot is BATCH_TOO_LARGE.
 */

/** The fields of a FetchPartitionResult that decide its encoded size. */
export interface ResultFields {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: bigint;
  readonly logStartOffset: bigint;
  readonly recordsSize: number;
}

const utf8 = new TextEncoder();

/** Bytes of a protobuf varint of `value`; negative values (int32, int64) take 10. */
export function varintSize(value: number | bigint): number {
  let v = BigInt(value);
  if (v < 0n) return 10;
  let bytes = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    bytes++;
  }
  return bytes;
}

// A field with implicit presence: nothing when it holds its default.
const scalar = (value: number | bigint): number => (value === 0 || value === 0n ? 0 : 1 + varintSize(value));

/** Bytes a result adds to the FetchResponse message: field 1, length-delimited, as protobuf writes it. */
export function resultSize(r: ResultFields): number {
  const topic = utf8.encode(r.topic).byteLength;
  const body = (topic === 0 ? 0 : 1 + varintSize(topic) + topic)
    + scalar(r.partition) + scalar(r.errorCode) + scalar(r.highWatermark) + scalar(r.logStartOffset) + scalar(r.recordsSize);
  return 1 + varintSize(body) + body;
}

/** The most bytes the result of a partition not read yet can take without records: widest offsets, an error code. */
export function pendingResultSize(topic: string, partition: number): number {
  return resultSize({ topic, partition, errorCode: 0x3fff, highWatermark: -1n, logStartOffset: -1n, recordsSize: 0 });
}
