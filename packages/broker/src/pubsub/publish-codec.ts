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

// The headers of a PublishRequest without any: one list for all of them (nothing changes it).
const NO_HEADERS: Header[] = Object.freeze([]) as unknown as Header[];

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
      const text = tag === 0x0a ? lastSubject.read(bytes, pos, stop) : ascii(bytes, pos, stop);
      if (text === undefined) return reference(bytes);
      if (tag === 0x0a) subject = text;
      else replyTo = text;
    }
    pos = stop;
  }
  return { $typeName: "polywire.v1.PublishRequest", subject, replyTo, headers: headers ?? NO_HEADERS, ack };
}

/**
 * The last subject read, handed out again when the next publish names the
 * same one (a publisher's usual stream): comparing a few bytes costs less
 * than building the string, and the same string object keeps its hash for
 * the router's subject cache.
 */
class LastSubject {
  #bytes = new Uint8Array(0);
  #text = "";

  read(bytes: Uint8Array, from: number, to: number): string | undefined {
    const last = this.#bytes;
    if (to - from === last.length) {
      let i = 0;
      while (i < last.length && bytes[from + i] === last[i]) i++;
      if (i === last.length) return this.#text;
    }
    const text = ascii(bytes, from, to);
    if (text !== undefined && to - from <= MAX_REMEMBERED) {
      this.#bytes = bytes.slice(from, to);
      this.#text = text;
    }
    return text;
  }
}

// Subjects longer than this are not remembered (MAX_SUBJECT_BYTES allows 256; most are far shorter).
const MAX_REMEMBERED = 64;
const lastSubject = new LastSubject();

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
