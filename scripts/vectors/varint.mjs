// Zigzag varints as the record layout uses them (protobuf's sint64), on
// BigInt so that every 64-bit value encodes exactly.
const MASK64 = (1n << 64n) - 1n;

/** Unsigned LEB128 of a non-negative BigInt below 2^64. */
export function uvarint(value) {
  let v = BigInt(value) & MASK64;
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** Zigzag-encoded signed 64-bit varint. */
export function varint(value) {
  const v = BigInt(value);
  return uvarint(((v << 1n) ^ (v >> 63n)) & MASK64);
}
