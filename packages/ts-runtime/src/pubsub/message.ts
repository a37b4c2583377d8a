import { PolywireError } from "@polywire/core";
import type { WireHeader } from "./wire.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Message headers: an object (one value per key) or `[key, value]` pairs, where a key may repeat (PW-PUBSUB-020). */
export type MessageHeadersInit =
  | { readonly [key: string]: string | Uint8Array }
  | ReadonlyArray<readonly [string, string | Uint8Array]>;

/** A message body: bytes, or text sent as UTF-8. */
export type MessageData = Uint8Array | string;

/** Checks headers: keys non-empty (PW-PUBSUB-020), values text or bytes (text becomes UTF-8); order kept. */
export function toHeaderPairs(init: MessageHeadersInit): Array<readonly [string, Uint8Array]> {
  const pairs = Array.isArray(init) ? init as ReadonlyArray<readonly [string, string | Uint8Array]> : Object.entries(init);
  return pairs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new PolywireError("INVALID_ARGUMENT", "headers must be [key, value] pairs");
    const [key, value] = pair as readonly [unknown, unknown];
    if (typeof key !== "string" || key === "") throw new PolywireError("INVALID_ARGUMENT", "a header key must be a non-empty string (PW-PUBSUB-020)");
    return [key, toBytes(value, `header ${JSON.stringify(key)}`)] as const;
  });
}

/** Checks and encodes headers, as {@link toHeaderPairs}, keys as UTF-8. */
export function toWireHeaders(init: MessageHeadersInit | undefined): WireHeader[] {
  if (init === undefined) return [];
  return toHeaderPairs(init).map(([key, value]) => [encoder.encode(key), value]);
}

/** Bytes of a body or header value. */
export function toBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(value);
  throw new PolywireError("INVALID_ARGUMENT", `the ${what} must be a Uint8Array or a string, got ${value === null ? "null" : typeof value}`);
}

/** One message received on a subscription (a Delivery, PW-PUBSUB-023). */
export class Message {
  /** The concrete subject it was published to (not the pattern). */
  readonly subject: string;
  /** Where the publisher wants answers; empty for none. */
  readonly replyTo: string;
  /** Headers in the order sent; a key may repeat. */
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
  /** The body, byte for byte as published. */
  readonly data: Uint8Array;
  /**
   * Its number on this subscription, from 1, counting messages dropped for
   * it (PW-PUBSUB-024): a jump of k means k - 1 were lost. It starts again
   * at 1 after a reconnect (the subscription is made anew).
   */
  readonly sequence: number;

  constructor(subject: string, replyTo: string, headers: ReadonlyArray<readonly [string, Uint8Array]>, data: Uint8Array, sequence: number) {
    this.subject = subject;
    this.replyTo = replyTo;
    this.headers = headers;
    this.data = data;
    this.sequence = sequence;
  }

  /** The body as UTF-8 text. */
  text(): string {
    return decoder.decode(this.data);
  }

  /** The body parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** The first value of header `key` as text, or undefined. */
  header(key: string): string | undefined {
    const found = this.headers.find(([k]) => k === key);
    return found === undefined ? undefined : decoder.decode(found[1]);
  }
}
