import { create } from "@bufbuild/protobuf";
import { HeaderSchema, type Header } from "@polywire/proto/common";
import { PolywireError } from "@polywire/core";

/** A call's headers: `[key, value]` pairs in order, a key may repeat; values are bytes. */
export type Headers = ReadonlyArray<readonly [string, Uint8Array]>;

/** Headers as an application gives them: an object (one value per key) or pairs; values text or bytes. */
export type HeadersInit = { readonly [key: string]: string | Uint8Array } | ReadonlyArray<readonly [string, string | Uint8Array]>;

const encoder = new TextEncoder();

/** Checks and encodes headers (keys non-empty, PW-RPC-015), in order. */
export function toWireHeaders(init: HeadersInit | undefined): Header[] {
  if (init === undefined) return [];
  const pairs = Array.isArray(init) ? init as ReadonlyArray<readonly [string, string | Uint8Array]> : Object.entries(init);
  return pairs.map(([key, value]) => {
    if (typeof key !== "string" || key === "") throw new PolywireError("INVALID_ARGUMENT", "a header key must be a non-empty string (PW-RPC-015)");
    return create(HeaderSchema, { key, value: typeof value === "string" ? encoder.encode(value) : value });
  });
}

export function fromWireHeaders(headers: readonly Header[]): Headers {
  return headers.map((h) => [h.key, h.value] as const);
}

/** The first value of `key` as text, or undefined. */
export function headerText(headers: Headers, key: string): string | undefined {
  const found = headers.find(([k]) => k === key);
  return found === undefined ? undefined : new TextDecoder().decode(found[1]);
}
