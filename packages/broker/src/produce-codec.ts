import { create, toBinary } from "@bufbuild/protobuf";
import { ProduceRequestSchema, ProduceResponseSchema, type ProduceRequest } from "@polywire/proto/log";
import { decodeMessage } from "@polywire/core";

// Varints up to 7 bytes (49 bits) fit a double exactly; longer ones go to protobuf-es.
const MAX_FAST_VARINT_BYTES = 7;
// Largest integer written by the fast encoder: below 2^53, a double holds it exactly.
const MAX_FAST_INT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Decodes a ProduceRequest, the message of every produce frame. The usual
 * request (an ASCII topic, varint fields, nothing else) is read here
 * without reflection; anything else (non-ASCII text, an unknown field, a
 * long varint, malformed bytes, a wrong wire type) is left to
 * `decodeMessage`, the reference (protobuf-es behind the wire-type checks
 * of PW-FRAME-021): both give the same message or both throw (its tests
 * check it on random messages, unknown fields included). The fast path
 * takes only the four tags with their own wire types.
 */
export function decodeProduceRequest(bytes: Uint8Array): ProduceRequest {
  let topic = "";
  let partition = 0;
  let acks = 0;
  let timeoutMs = 0;
  let pos = 0;
  const end = bytes.length;
  while (pos < end) {
    const tag = bytes[pos++] as number;
    if (tag >= 0x80) return decodeMessage(ProduceRequestSchema, bytes);
    let value = 0;
    let scale = 1;
    for (let length = 0; ; length++) {
      if (pos >= end || length === MAX_FAST_VARINT_BYTES) return decodeMessage(ProduceRequestSchema, bytes);
      const b = bytes[pos++] as number;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) break;
    }
    if (tag === 0x0a) {
      // Field 1, length-delimited: the topic.
      const stop = pos + value;
      if (stop > end) return decodeMessage(ProduceRequestSchema, bytes);
      let text = "";
      for (let i = pos; i < stop; i++) {
        const c = bytes[i] as number;
        if (c >= 0x80) return decodeMessage(ProduceRequestSchema, bytes);
        text += String.fromCharCode(c);
      }
      topic = text;
      pos = stop;
    } else if (tag === 0x10) {
      partition = value >>> 0;
    } else if (tag === 0x18) {
      acks = value | 0;
    } else if (tag === 0x20) {
      timeoutMs = value >>> 0;
    } else {
      return decodeMessage(ProduceRequestSchema, bytes);
    }
  }
  return { $typeName: "polywire.v1.ProduceRequest", topic, partition, acks, timeoutMs };
}

/** The fields of a successful ProduceResponse (error_code 0, no error message). */
export interface ProduceAnswer {
  readonly baseOffset: bigint;
  readonly logAppendTimeMs: bigint;
  readonly logStartOffset: bigint;
  readonly duplicate: boolean;
}

/**
 * Encodes a successful ProduceResponse. Offsets and times in 0..2^53-1 are
 * written here without reflection, in field order with defaults left out,
 * exactly as protobuf-es `toBinary` writes them (its tests check it);
 * other values go through protobuf-es.
 */
export function encodeProduceResponse(answer: ProduceAnswer): Uint8Array {
  const { baseOffset, logAppendTimeMs, logStartOffset, duplicate } = answer;
  if (
    baseOffset < 0n || baseOffset > MAX_FAST_INT || logAppendTimeMs < 0n || logAppendTimeMs > MAX_FAST_INT ||
    logStartOffset < 0n || logStartOffset > MAX_FAST_INT
  ) {
    return toBinary(ProduceResponseSchema, create(ProduceResponseSchema, answer));
  }
  // Three tagged varints of at most 8 bytes each, and a bool.
  const out = new Uint8Array(3 * 9 + 2);
  let pos = putField(out, 0, 0x18, Number(baseOffset));
  pos = putField(out, pos, 0x20, Number(logAppendTimeMs));
  pos = putField(out, pos, 0x28, Number(logStartOffset));
  if (duplicate) {
    out[pos++] = 0x30;
    out[pos++] = 1;
  }
  return out.subarray(0, pos);
}

// Writes a varint field unless it holds the default 0 (proto3 implicit presence); returns the new position.
function putField(out: Uint8Array, pos: number, tag: number, value: number): number {
  if (value === 0) return pos;
  out[pos++] = tag;
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}
