// PublishRequest, the message of every publish, decoded without
// reflection in the usual case: ASCII subject and reply_to, headers with
// ASCII keys, the four fields with their own wire types. Anything else
// (non-ASCII text, an unknown field, a wrong wire type, a long varint,
// truncated bytes) goes to `decodeMessage`, the reference (protobuf-es
// behind the wire-type checks of PW-FRAME-021): both give the same message
// or both throw; the tests compare them.
import { create } from "@bufbuild/protobuf";
import { HeaderSchema, type Header } from "@polywire/proto/common";
import { PublishRequestSchema, type PublishRequest } from "@polywire/proto/pubsub";
import { decodeMessage } from "@polywire/core";

// Varints up to 4 bytes here: lengths below 2^28 and the ack flag; longer ones go to the reference.
const MAX_FAST_VARINT_BYTES = 4;

function reference(bytes: Uint8Array): PublishRequest {
  return decodeMessage(PublishRequestSchema, bytes);
}

export function decodePublishRequest(bytes: Uint8Array): PublishRequest {
  let subject = "";
  let replyTo = "";
  let ack = false;
  let headers: Header[] | undefined;
  let pos = 0;
  const end = bytes.length;
  while (pos < end) {
    const tag = bytes[pos++] as number;
    let value = 0;
    let shift = 0;
    for (let length = 0; ; length++) {
      if (pos >= end || length === MAX_FAST_VARINT_BYTES) return reference(bytes);
      const b = bytes[pos++] as number;
      value |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    if (tag === 0x20) {
      // Field 4, varint: ack. protobuf-es reads any non-zero varint as true.
      ack = value !== 0;
      continue;
    }
    if (tag !== 0x0a && tag !== 0x12 && tag !== 0x1a) return reference(bytes);
    const stop = pos + value;
    if (stop > end) return reference(bytes);
    if (tag === 0x1a) {
      const header = decodeHeader(bytes, pos, stop);
      if (header === undefined) return reference(bytes);
      (headers ??= []).push(header);
    } else {
      const text = ascii(bytes, pos, stop);
      if (text === undefined) return reference(bytes);
      if (tag === 0x0a) subject = text;
      else replyTo = text;
    }
    pos = stop;
  }
  return { $typeName: "polywire.v1.PublishRequest", subject, replyTo, headers: headers ?? [], ack };
}

function ascii(bytes: Uint8Array, from: number, to: number): string | undefined {
  let text = "";
  for (let i = from; i < to; i++) {
    const c = bytes[i] as number;
    if (c >= 0x80) return undefined;
    text += String.fromCharCode(c);
  }
  return text;
}

function decodeHeader(bytes: Uint8Array, from: number, to: number): Header | undefined {
  let key = "";
  let value: Uint8Array = new Uint8Array(0);
  let pos = from;
  while (pos < to) {
    const tag = bytes[pos++] as number;
    let length = 0;
    let shift = 0;
    for (let n = 0; ; n++) {
      if (pos >= to || n === MAX_FAST_VARINT_BYTES) return undefined;
      const b = bytes[pos++] as number;
      length |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const stop = pos + length;
    if (stop > to) return undefined;
    if (tag === 0x0a) {
      const text = ascii(bytes, pos, stop);
      if (text === undefined) return undefined;
      key = text;
    } else if (tag === 0x12) {
      value = bytes.slice(pos, stop);
    } else {
      return undefined;
    }
    pos = stop;
  }
  return create(HeaderSchema, { key, value });
}
