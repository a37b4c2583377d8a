// The pub/sub plane's two hot messages, encoded and decoded without
// reflection: PublishRequest (every publish) and Delivery (every message
// received). Anything unusual on the way in (an unknown field, a wire type
// other than the schema's, a varint over 2^53) is left to `decodeMessage`,
// the reference, so both give the same message or both throw.
import { DeliverySchema } from "@polywire/proto/pubsub";
import { decodeMessage } from "@polywire/core";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A header as sent: key and value, both bytes (PW-PUBSUB-020: keys may repeat, order kept). */
export type WireHeader = readonly [key: Uint8Array, value: Uint8Array];

/** A Delivery as the client reads it. */
export interface DeliveryFields {
  readonly subscriptionId: number;
  readonly subject: string;
  readonly replyTo: string;
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
  readonly sequence: number;
}

// The headers of a Delivery without any: one frozen list for all of them.
const NO_HEADERS: ReadonlyArray<readonly [string, Uint8Array]> = Object.freeze([]);

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

function putVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}

function putBytes(out: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  out[pos++] = tag;
  pos = putVarint(out, pos, bytes.byteLength);
  out.set(bytes, pos);
  return pos + bytes.byteLength;
}

/** Encodes a PublishRequest in field order, defaults left out, as protobuf-es writes it. */
export function encodePublish(subject: string, replyTo: string, headers: readonly WireHeader[], ack: boolean): Uint8Array {
  const s = encoder.encode(subject);
  const r = replyTo === "" ? undefined : encoder.encode(replyTo);
  let size = 1 + varintSize(s.byteLength) + s.byteLength + (r === undefined ? 0 : 1 + varintSize(r.byteLength) + r.byteLength) + (ack ? 2 : 0);
  const entrySizes: number[] = [];
  for (const [key, value] of headers) {
    const entry = 1 + varintSize(key.byteLength) + key.byteLength + (value.byteLength === 0 ? 0 : 1 + varintSize(value.byteLength) + value.byteLength);
    entrySizes.push(entry);
    size += 1 + varintSize(entry) + entry;
  }
  const out = new Uint8Array(size);
  let pos = putBytes(out, 0, 0x0a, s);
  if (r !== undefined) pos = putBytes(out, pos, 0x12, r);
  headers.forEach(([key, value], i) => {
    out[pos++] = 0x1a;
    pos = putVarint(out, pos, entrySizes[i] as number);
    pos = putBytes(out, pos, 0x0a, key);
    if (value.byteLength > 0) pos = putBytes(out, pos, 0x12, value);
  });
  if (ack) {
    out[pos++] = 0x20;
    out[pos++] = 1;
  }
  return out;
}

// The reader's state: a position, and a flag for "give up, ask the reference".
class Reader {
  pos = 0;
  bad = false;
  constructor(readonly bytes: Uint8Array, readonly end: number) {}

  varint(): number {
    let value = 0;
    let scale = 1;
    // Up to 7 bytes (49 bits): exact in a double; longer ones go to the reference.
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) break;
      const b = this.bytes[this.pos++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    this.bad = true;
    return 0;
  }

  bytesField(): Uint8Array {
    const length = this.varint();
    const start = this.pos;
    if (this.bad || start + length > this.end) {
      this.bad = true;
      return new Uint8Array(0);
    }
    this.pos = start + length;
    return this.bytes.subarray(start, start + length);
  }

  text(): string {
    const length = this.varint();
    const start = this.pos;
    const bytes = this.bytes;
    if (this.bad || start + length > this.end) {
      this.bad = true;
      return "";
    }
    this.pos = start + length;
    // The subject of a Delivery is most often the one before: same bytes, same string, nothing built.
    const last = lastText;
    if (length === last.bytes.length) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (bytes[start + i] !== last.bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) return last.text;
    }
    const view = bytes.subarray(start, start + length);
    let text = "";
    if (length > 64) text = decoder.decode(view);
    else {
      for (let i = 0; i < length; i++) {
        const c = bytes[start + i] as number;
        if (c >= 0x80) {
          text = decoder.decode(view);
          break;
        }
        text += String.fromCharCode(c);
      }
    }
    if (length <= 64) lastText = { bytes: view.slice(), text };
    return text;
  }
}

// The last short text decoded, kept to be handed out again for the same bytes.
let lastText: { readonly bytes: Uint8Array; readonly text: string } = { bytes: new Uint8Array(0), text: "" };

function header(bytes: Uint8Array): [string, Uint8Array] | undefined {
  const r = new Reader(bytes, bytes.byteLength);
  let key = "";
  let value = new Uint8Array(0);
  while (r.pos < r.end && !r.bad) {
    const tag = r.bytes[r.pos++] as number;
    if (tag === 0x0a) key = r.text();
    else if (tag === 0x12) value = r.bytesField().slice();
    else return undefined;
  }
  return r.bad ? undefined : [key, value];
}

/** Decodes a Delivery message; throws (as `decodeMessage` does) when it is malformed. */
export function decodeDelivery(bytes: Uint8Array): DeliveryFields {
  const r = new Reader(bytes, bytes.byteLength);
  let subscriptionId = 0;
  let subject = "";
  let replyTo = "";
  let sequence = 0;
  let headers: Array<[string, Uint8Array]> | undefined;
  while (r.pos < r.end && !r.bad) {
    const tag = bytes[r.pos++] as number;
    if (tag === 0x08) subscriptionId = r.varint() >>> 0;
    else if (tag === 0x12) subject = r.text();
    else if (tag === 0x1a) replyTo = r.text();
    else if (tag === 0x22) {
      const h = header(r.bytesField());
      if (h === undefined) return reference(bytes);
      (headers ??= []).push(h);
    } else if (tag === 0x28) sequence = r.varint();
    else return reference(bytes);
  }
  if (r.bad) return reference(bytes);
  return { subscriptionId, subject, replyTo, headers: headers ?? NO_HEADERS, sequence };
}

function reference(bytes: Uint8Array): DeliveryFields {
  const d = decodeMessage(DeliverySchema, bytes);
  return { subscriptionId: d.subscriptionId, subject: d.subject, replyTo: d.replyTo, headers: d.headers.map((h) => [h.key, h.value]), sequence: Number(d.sequence) };
}
