// The Delivery message (PW-PUBSUB-023), encoded in two parts: what every
// subscription a message goes to shares (subject, reply_to, headers), once
// per publish, and per subscription only its id and sequence number around
// it. A message routed to many subscriptions is thus encoded once.
import { create, toBinary } from "@bufbuild/protobuf";
import { DeliverySchema } from "@polywire/proto/pubsub";
import type { Header } from "@polywire/proto/common";

/** A published message as the plane holds it until each of its deliveries is written. */
export interface PubSubMessage {
  /** Delivery fields 2 to 4 (subject, reply_to, headers), encoded. */
  readonly shared: Uint8Array;
  /**
   * The body: the PublishRequest's payload, sent as the Delivery's payload
   * byte for byte. It may be a view into the read it arrived in until the
   * plane retains it (then a copy of the same bytes).
   */
  body: Uint8Array;
}

const TAG_SUBSCRIPTION_ID = 0x08; // field 1, varint
const TAG_SEQUENCE = 0x28; // field 5, varint

/**
 * Delivery fields 2 to 4, encoded by protobuf-es: `subject`, `reply_to`
 * and `headers` unchanged (PW-PUBSUB-023). Fields 1 and 5 are added per
 * subscription by {@link DeliveryEncoder}, before and after, so the whole
 * is in field order as a protobuf encoder would write it.
 */
export function encodeShared(subject: string, replyTo: string, headers: readonly Header[]): Uint8Array {
  // The common case by hand: ASCII strings of at most 127 bytes (one-byte lengths) and no headers.
  if (headers.length > 0 || !shortAscii(subject) || !shortAscii(replyTo)) {
    return toBinary(DeliverySchema, create(DeliverySchema, { subject, replyTo, headers: [...headers] }));
  }
  // Empty strings are left out, as proto3 writes them.
  const out = new Uint8Array((subject === "" ? 0 : 2 + subject.length) + (replyTo === "" ? 0 : 2 + replyTo.length));
  let pos = subject === "" ? 0 : putAscii(out, 0, 0x12, subject);
  if (replyTo !== "") pos = putAscii(out, pos, 0x1a, replyTo);
  return out;
}

function shortAscii(text: string): boolean {
  if (text.length > 127) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

// A field of `tag` holding ASCII `text` of at most 127 bytes; returns the new position.
function putAscii(out: Uint8Array, pos: number, tag: number, text: string): number {
  out[pos++] = tag;
  out[pos++] = text.length;
  for (let i = 0; i < text.length; i++) out[pos++] = text.charCodeAt(i);
  return pos;
}

/**
 * The Delivery message of one subscription (its id, the shared fields, its
 * sequence number) as a frame's `MessageEncoder`: set it, then the frame
 * writer lays it straight into the frame. One instance serves every
 * Delivery of a connection, one at a time.
 */
export class DeliveryEncoder {
  #subscriptionId = 0;
  #sequence = 0;
  #shared: Uint8Array = new Uint8Array(0);
  size = 0;

  /** Makes this the Delivery of `sequence` on `subscriptionId`. */
  set(subscriptionId: number, sequence: number, shared: Uint8Array): this {
    this.#subscriptionId = subscriptionId;
    this.#sequence = sequence;
    this.#shared = shared;
    this.size = 2 + varintSize(subscriptionId) + shared.byteLength + varintSize(sequence);
    return this;
  }

  encodeInto(out: Uint8Array, at: number): void {
    out[at] = TAG_SUBSCRIPTION_ID;
    let pos = putVarint(out, at + 1, this.#subscriptionId);
    out.set(this.#shared, pos);
    pos += this.#shared.byteLength;
    out[pos++] = TAG_SEQUENCE;
    putVarint(out, pos, this.#sequence);
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

// A non-negative integer below 2^53 as a varint; returns the new position.
function putVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}
