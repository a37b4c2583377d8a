/** The length word of a null byte string in the decode table. */
export declare const NULL_LEN = 4294967295;
/** Input: bytes of each length word (an i32). */
export declare const IN_LENGTH_BYTES = 4;
/** Input record: offset of the i64 type id, after the f64 timestamp at 0. */
export declare const IN_TYPE_ID = 8;
/** Input record: offset of the key's length word; value and header count follow. */
export declare const IN_KEY = 16;
/** Input record: its bytes besides key, value and headers (8 + 8 + 4 + 4 + 4). */
export declare const IN_RECORD_FIXED = 28;
/** Input header: its bytes besides key and value (two length words). */
export declare const IN_HEADER_FIXED = 8;
/** Input: the length word of a null byte string. */
export declare const IN_NULL_LENGTH = -1;
/** Decode table: the record count. */
export declare const DECODE_RECORD_COUNT = 0;
/** Decode table: the address of the (uncompressed) records section. */
export declare const DECODE_SECTION_ADDR = 1;
/** Decode table: the length of the records section. */
export declare const DECODE_SECTION_LEN = 2;
/** Decode table: words before the first record. */
export declare const DECODE_HEAD_WORDS = 3;
/** Record words: timestamp, low and high 32 bits (two's complement). */
export declare const RECORD_TIMESTAMP_LO = 0;
export declare const RECORD_TIMESTAMP_HI = 1;
/** Record words: type id, low and high 32 bits. */
export declare const RECORD_TYPE_ID_LO = 2;
export declare const RECORD_TYPE_ID_HI = 3;
/** Record words: key address and length. */
export declare const RECORD_KEY_ADDR = 4;
export declare const RECORD_KEY_LEN = 5;
/** Record words: value address and length. */
export declare const RECORD_VALUE_ADDR = 6;
export declare const RECORD_VALUE_LEN = 7;
/** Record words: how many header entries follow the record's words. */
export declare const RECORD_HEADER_COUNT = 8;
/** Words per record, before its headers. */
export declare const RECORD_WORDS = 9;
/** Header words: key address and length, value address and length. */
export declare const HEADER_KEY_ADDR = 0;
export declare const HEADER_KEY_LEN = 1;
export declare const HEADER_VALUE_ADDR = 2;
export declare const HEADER_VALUE_LEN = 3;
/** Words per header. */
export declare const HEADER_WORDS = 4;
/** The signed 64-bit value of table words `lo` and `hi`, exact up to 2^53. */
export declare function wideAt(t: Uint32Array, lo: number, hi: number): number;
//# sourceMappingURL=abi.d.ts.map