/**
 * The adapter protocol's framing: each message is a 4-byte big-endian
 * unsigned length followed by that many bytes of protobuf (the layout of
 * the Connect conformance suite's size-delimited messages).
 */

/** Prefixes `message` with its length. */
export function delimit(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + message.length);
  new DataView(out.buffer).setUint32(0, message.length);
  out.set(message, 4);
  return out;
}

/** Largest message either side accepts: consume results carry record values. */
export const MAX_MESSAGE = 256 * 1024 * 1024;

/** Splits a byte stream into size-delimited messages. */
export class DelimitedReader {
  #buffer = new Uint8Array(0);

  /** Adds bytes; returns every whole message they complete. Throws on a length above {@link MAX_MESSAGE}. */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const out: Uint8Array[] = [];
    let pos = 0;
    while (joined.length - pos >= 4) {
      const length = new DataView(joined.buffer, pos).getUint32(0);
      if (length > MAX_MESSAGE) throw new RangeError(`a ${length}-byte adapter message exceeds the ${MAX_MESSAGE}-byte limit`);
      if (joined.length - pos - 4 < length) break;
      out.push(joined.slice(pos + 4, pos + 4 + length));
      pos += 4 + length;
    }
    this.#buffer = joined.slice(pos);
    return out;
  }

  /** Bytes of an incomplete message held back. */
  get buffered(): number {
    return this.#buffer.length;
  }
}
