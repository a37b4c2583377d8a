// The data layouts this loader and the WASM exports exchange, with the
// names and values of src/abi.rs (test/abi.test.ts reads that file and
// checks every constant against these):
//
// - the records encodeBatch writes into the input buffer for
//   pw_encode_batch, little-endian, one after the other: f64 timestamp,
//   i64 type id, key, value (each an i32 length, -1 for null, then the
//   bytes), i32 header count, then per header its key and value likewise;
// - the u32 table pw_decode_batch fills: 3 words (record count, address and
//   length of the records section), then 9 words per record (timestamp and
//   type id as low/high halves, key and value as address and length, header
//   count) followed by 4 words per header (key and value as address and
//   length). A null key or value has length NULL_LEN.

/** The length word of a null byte string in the decode table. */
export const NULL_LEN = 0xffff_ffff;

/** Input: bytes of each length word (an i32). */
export const IN_LENGTH_BYTES = 4;
/** Input record: offset of the i64 type id, after the f64 timestamp at 0. */
export const IN_TYPE_ID = 8;
/** Input record: offset of the key's length word; value and header count follow. */
export const IN_KEY = 16;
/** Input record: its bytes besides key, value and headers (8 + 8 + 4 + 4 + 4). */
export const IN_RECORD_FIXED = 28;
/** Input header: its bytes besides key and value (two length words). */
export const IN_HEADER_FIXED = 8;
/** Input: the length word of a null byte string. */
export const IN_NULL_LENGTH = -1;

/** Decode table: the record count. */
export const DECODE_RECORD_COUNT = 0;
/** Decode table: the address of the (uncompressed) records section. */
export const DECODE_SECTION_ADDR = 1;
/** Decode table: the length of the records section. */
export const DECODE_SECTION_LEN = 2;
/** Decode table: words before the first record. */
export const DECODE_HEAD_WORDS = 3;

/** Record words: timestamp, low and high 32 bits (two's complement). */
export const RECORD_TIMESTAMP_LO = 0;
export const RECORD_TIMESTAMP_HI = 1;
/** Record words: type id, low and high 32 bits. */
export const RECORD_TYPE_ID_LO = 2;
export const RECORD_TYPE_ID_HI = 3;
/** Record words: key address and length. */
export const RECORD_KEY_ADDR = 4;
export const RECORD_KEY_LEN = 5;
/** Record words: value address and length. */
export const RECORD_VALUE_ADDR = 6;
export const RECORD_VALUE_LEN = 7;
/** Record words: how many header entries follow the record's words. */
export const RECORD_HEADER_COUNT = 8;
/** Words per record, before its headers. */
export const RECORD_WORDS = 9;

/** Header words: key address and length, value address and length. */
export const HEADER_KEY_ADDR = 0;
export const HEADER_KEY_LEN = 1;
export const HEADER_VALUE_ADDR = 2;
export const HEADER_VALUE_LEN = 3;
/** Words per header. */
export const HEADER_WORDS = 4;

/** The signed 64-bit value of table words `lo` and `hi`, exact up to 2^53. */
export function wideAt(t: Uint32Array, lo: number, hi: number): number {
  return (t[hi]! | 0) * 4294967296 + t[lo]!;
}
