// A published message as the plane holds it, whichever way it came and
// whichever way its deliveries go: a PublishRequest frame (its subject,
// reply_to and headers decoded, the Delivery's shared fields encoded once)
// or an in-process publish (PW-TRANS-012: values, nothing encoded). Each
// form is made from the other only when a subscriber on the other path
// needs it, once per message however many subscriptions it goes to.
import { create } from "@bufbuild/protobuf";
import { HeaderSchema, type Header } from "@polywire/proto/common";
import type { DirectHeaders } from "@polywire/core";
import { encodeShared, type PubSubMessage } from "./delivery-codec.js";

const NO_HEADERS: DirectHeaders = [];

export class PlaneMessage implements PubSubMessage {
  readonly subject: string;
  readonly replyTo: string;
  readonly body: Uint8Array;
  /** What holding it costs against a connection's byte budget (PW-PUBSUB-033): its frame's message and payload, or their equivalent in values. */
  readonly size: number;
  #shared: Uint8Array | undefined;
  #wire: readonly Header[] | undefined;
  #pairs: DirectHeaders | undefined;

  private constructor(subject: string, replyTo: string, body: Uint8Array, size: number) {
    this.subject = subject;
    this.replyTo = replyTo;
    this.body = body;
    this.size = size;
  }

  /** A message that came in a PublishRequest frame. */
  static framed(subject: string, replyTo: string, headers: readonly Header[], body: Uint8Array): PlaneMessage {
    const shared = encodeShared(subject, replyTo, headers);
    const m = new PlaneMessage(subject, replyTo, body, shared.byteLength + body.byteLength);
    m.#wire = headers;
    m.#shared = shared;
    if (headers.length === 0) m.#pairs = NO_HEADERS;
    return m;
  }

  /** A message published in process (PW-TRANS-012); `body` is held by reference. */
  static direct(subject: string, replyTo: string, headers: DirectHeaders, body: Uint8Array): PlaneMessage {
    let size = body.byteLength + 4 + subject.length + replyTo.length;
    for (const [key, value] of headers) size += 4 + key.length + value.byteLength;
    const m = new PlaneMessage(subject, replyTo, body, size);
    m.#pairs = headers;
    return m;
  }

  /** Delivery fields 2 to 4, encoded (for subscribers reading frames). */
  get shared(): Uint8Array {
    if (this.#shared === undefined) this.#shared = encodeShared(this.subject, this.replyTo, this.#wireHeaders());
    return this.#shared;
  }

  /** The headers as values (for in-process subscribers). */
  get headers(): DirectHeaders {
    if (this.#pairs === undefined) this.#pairs = (this.#wire ?? []).map((h) => [h.key, h.value] as const);
    return this.#pairs;
  }

  #wireHeaders(): readonly Header[] {
    if (this.#wire === undefined) this.#wire = (this.#pairs ?? NO_HEADERS).map(([key, value]) => create(HeaderSchema, { key, value }));
    return this.#wire;
  }
}
