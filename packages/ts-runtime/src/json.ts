/**
 * The JSON form of a result type, as its `toJSON()` writes it: bigint
 * fields (offsets, watermarks) become decimal strings, as protobuf JSON
 * writes int64; nested results take their own JSON form; methods are left
 * out. `JSON.stringify` of a bigint throws, so every result that holds one
 * has a `toJSON`.
 */
export type Jsonified<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: JsonValue<T[K]>;
};

type JsonValue<V> = V extends bigint
  ? string
  : V extends { toJSON(): infer J }
    ? J
    : V extends ReadonlyArray<infer U>
      ? Array<JsonValue<U>>
      : V extends object
        ? Jsonified<V>
        : V;

/** Something with a typed JSON form. */
export interface JsonResult<T> {
  /** The JSON form: bigints as decimal strings (see {@link Jsonified}). */
  toJSON(): Jsonified<T>;
}

// Shared by every result object made by `result()`: one function, on the prototype.
const RESULT_PROTOTYPE = {
  toJSON(this: object): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this)) out[key] = typeof value === "bigint" ? value.toString() : value;
    return out;
  },
};

/**
 * `fields` as a result object: the same own fields, with a `toJSON` on its
 * prototype that writes bigints as decimal strings. Fields named in
 * `hidden` stay readable but are not enumerable, so the JSON form leaves
 * them out.
 */
export function result<T extends object, H extends keyof T = never>(fields: T, hidden: readonly H[] = []): T & JsonResult<Omit<T, H>> {
  const out = Object.assign(Object.create(RESULT_PROTOTYPE) as object, fields) as T & JsonResult<Omit<T, H>>;
  for (const key of hidden) Object.defineProperty(out, key, { enumerable: false });
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Standard base64 of `bytes`, in any runtime (no Buffer needed). */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Writes bytes into `out` for JSON: as `field` when they are UTF-8 text,
 * else as `${field}Base64`; null stays null (PW-BATCH-013).
 */
export function bytesField(out: Record<string, unknown>, field: string, bytes: Uint8Array | null): void {
  if (bytes === null) {
    out[field] = null;
    return;
  }
  try {
    out[field] = strictUtf8.decode(bytes);
  } catch {
    out[`${field}Base64`] = base64(bytes);
  }
}
