//! The data layouts the JavaScript loader and the WASM exports (`exports.rs`)
//! exchange, named here and in `src/abi.ts` with the same names and values
//! (`test/abi.test.ts` reads this file and checks every constant):
//!
//! - the records `encodeBatch` writes into the input buffer for
//!   `pw_encode_batch`, little-endian, one after the other: f64 timestamp,
//!   i64 type id, key, value (each an i32 length, -1 for null, then the
//!   bytes), i32 header count, then per header its key and value likewise;
//! - the u32 table `pw_decode_batch` fills: 3 words (record count, address
//!   and length of the records section), then 9 words per record
//!   (timestamp and type id as low/high halves, key and value as address
//!   and length, header count) followed by 4 words per header (key and
//!   value as address and length). A null key or value has length
//!   `NULL_LEN`.
//!
//! Everything here compiles on every target, so native tests check it; the
//! exports that use it exist only on wasm32.

use crate::batch::{HeaderRef, RecordRef};

/// The length word of a null byte string in the decode table.
pub const NULL_LEN: u32 = 0xffff_ffff;

/// Input: bytes of each length word (an i32).
pub const IN_LENGTH_BYTES: usize = 4;
/// Input record: offset of the i64 type id, after the f64 timestamp at 0.
pub const IN_TYPE_ID: usize = 8;
/// Input record: offset of the key's length word; value and header count follow.
pub const IN_KEY: usize = 16;
/// Input record: its bytes besides key, value and headers (8 + 8 + 4 + 4 + 4).
pub const IN_RECORD_FIXED: usize = 28;
/// Input header: its bytes besides key and value (two length words).
pub const IN_HEADER_FIXED: usize = 8;
/// Input: the length word of a null byte string.
pub const IN_NULL_LENGTH: i32 = -1;

/// Decode table: the record count.
pub const DECODE_RECORD_COUNT: usize = 0;
/// Decode table: the address of the (uncompressed) records section.
pub const DECODE_SECTION_ADDR: usize = 1;
/// Decode table: the length of the records section.
pub const DECODE_SECTION_LEN: usize = 2;
/// Decode table: words before the first record.
pub const DECODE_HEAD_WORDS: usize = 3;

/// Record words: timestamp, low and high 32 bits (two's complement).
pub const RECORD_TIMESTAMP_LO: usize = 0;
pub const RECORD_TIMESTAMP_HI: usize = 1;
/// Record words: type id, low and high 32 bits.
pub const RECORD_TYPE_ID_LO: usize = 2;
pub const RECORD_TYPE_ID_HI: usize = 3;
/// Record words: key address and length.
pub const RECORD_KEY_ADDR: usize = 4;
pub const RECORD_KEY_LEN: usize = 5;
/// Record words: value address and length.
pub const RECORD_VALUE_ADDR: usize = 6;
pub const RECORD_VALUE_LEN: usize = 7;
/// Record words: how many header entries follow the record's words.
pub const RECORD_HEADER_COUNT: usize = 8;
/// Words per record, before its headers.
pub const RECORD_WORDS: usize = 9;

/// Header words: key address and length, value address and length.
pub const HEADER_KEY_ADDR: usize = 0;
pub const HEADER_KEY_LEN: usize = 1;
pub const HEADER_VALUE_ADDR: usize = 2;
pub const HEADER_VALUE_LEN: usize = 3;
/// Words per header.
pub const HEADER_WORDS: usize = 4;

/// A WASM address: pointers are 32 bits on wasm32, the only target JS sees.
pub fn addr(bytes: &[u8]) -> u32 {
    bytes.as_ptr() as usize as u32
}

fn push_i64(table: &mut Vec<u32>, v: i64) {
    table.push(v as u32);
    table.push((v >> 32) as u32);
}

fn push_bytes(table: &mut Vec<u32>, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            table.push(addr(b));
            table.push(b.len() as u32);
        }
        None => {
            table.push(0);
            table.push(NULL_LEN);
        }
    }
}

/// Starts a decode table: clears it and writes its leading words.
pub fn start_decode_table(table: &mut Vec<u32>, record_count: u32, section: &[u8]) {
    table.clear();
    table.extend_from_slice(&[record_count, addr(section), section.len() as u32]);
}

/// Appends one record's words and its headers' to a decode table.
pub fn push_record(table: &mut Vec<u32>, r: &RecordRef<'_>, headers: &[HeaderRef<'_>]) {
    push_i64(table, r.timestamp);
    push_i64(table, r.type_id);
    push_bytes(table, r.key);
    push_bytes(table, r.value);
    table.push(headers.len() as u32);
    for h in headers {
        push_bytes(table, Some(h.key.as_bytes()));
        push_bytes(table, h.value);
    }
}

/// One input record, borrowed from the input buffer.
pub struct InputRecord<'a> {
    pub timestamp: i64,
    pub type_id: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

/// Reads the records the loader laid out in `bytes`, in order.
pub struct InputReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> InputReader<'a> {
    pub fn new(bytes: &'a [u8]) -> InputReader<'a> {
        InputReader { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("record input ends early")?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(IN_LENGTH_BYTES)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn eight(&mut self) -> Result<[u8; 8], String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(a)
    }
    fn bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, String> {
        match self.i32()? {
            IN_NULL_LENGTH => Ok(None),
            n if n >= 0 => self.take(n as usize).map(Some),
            n => Err(format!("{what} length {n} is invalid")),
        }
    }

    /// The next record; its headers replace the contents of `headers`.
    pub fn record(&mut self, headers: &mut Vec<(&'a str, Option<&'a [u8]>)>) -> Result<InputRecord<'a>, String> {
        let timestamp = f64::from_le_bytes(self.eight()?);
        // Beyond 2^63 a float no longer names one i64.
        if timestamp.fract() != 0.0 || !(-9.2e18..=9.2e18).contains(&timestamp) {
            return Err(format!("timestamp {timestamp} is not an integer in range"));
        }
        let type_id = i64::from_le_bytes(self.eight()?);
        let key = self.bytes("key")?;
        let value = self.bytes("value")?;
        let header_count = self.i32()?;
        headers.clear();
        for _ in 0..header_count.max(0) {
            let key = self.bytes("header key")?.ok_or("a header key is null")?;
            let key = std::str::from_utf8(key).map_err(|_| "a header key is not UTF-8 (PW-BATCH-012)")?;
            headers.push((key, self.bytes("header value")?));
        }
        Ok(InputRecord { timestamp: timestamp as i64, type_id, key, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{self, EncodeOptions, Record};

    // The same numbers test/abi.test.ts asserts for src/abi.ts.
    #[test]
    fn the_numbers_javascript_relies_on() {
        assert_eq!((IN_LENGTH_BYTES, IN_TYPE_ID, IN_KEY, IN_NULL_LENGTH), (4, 8, 16, -1));
        assert_eq!((IN_RECORD_FIXED, IN_HEADER_FIXED), (8 + 8 + 4 + 4 + 4, 4 + 4));
        assert_eq!((DECODE_RECORD_COUNT, DECODE_SECTION_ADDR, DECODE_SECTION_LEN, DECODE_HEAD_WORDS), (0, 1, 2, 3));
        assert_eq!(
            [RECORD_TIMESTAMP_LO, RECORD_TIMESTAMP_HI, RECORD_TYPE_ID_LO, RECORD_TYPE_ID_HI, RECORD_KEY_ADDR, RECORD_KEY_LEN, RECORD_VALUE_ADDR, RECORD_VALUE_LEN, RECORD_HEADER_COUNT],
            [0, 1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!((RECORD_WORDS, HEADER_WORDS, NULL_LEN), (9, 4, 0xffff_ffff));
        assert_eq!([HEADER_KEY_ADDR, HEADER_KEY_LEN, HEADER_VALUE_ADDR, HEADER_VALUE_LEN], [0, 1, 2, 3]);
    }

    fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
        match b {
            None => out.extend_from_slice(&IN_NULL_LENGTH.to_le_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_le_bytes());
                out.extend_from_slice(b);
            }
        }
    }

    #[test]
    fn input_records_are_read_at_the_named_offsets() {
        let mut input = Vec::new();
        for (timestamp, type_id, key, headers) in [(-5.0f64, 7i64, None, 0usize), (1.7e12, (1 << 53) - 1, Some(&b"k"[..]), 2)] {
            let start = input.len();
            input.resize(start + IN_KEY, 0);
            input[start..start + IN_TYPE_ID].copy_from_slice(&timestamp.to_le_bytes());
            input[start + IN_TYPE_ID..start + IN_KEY].copy_from_slice(&type_id.to_le_bytes());
            put_bytes(&mut input, key);
            put_bytes(&mut input, Some(b"value"));
            input.extend_from_slice(&(headers as i32).to_le_bytes());
            assert_eq!(input.len() - start, IN_RECORD_FIXED + key.map_or(0, <[u8]>::len) + 5);
            for h in 0..headers {
                let before = input.len();
                put_bytes(&mut input, Some(b"h"));
                put_bytes(&mut input, if h == 0 { None } else { Some(b"v") });
                assert_eq!(input.len() - before, IN_HEADER_FIXED + 1 + h);
            }
        }
        let mut reader = InputReader::new(&input);
        let mut headers = Vec::new();
        let first = reader.record(&mut headers).unwrap();
        assert_eq!((first.timestamp, first.type_id, first.key, first.value), (-5, 7, None, Some(&b"value"[..])));
        assert!(headers.is_empty());
        let second = reader.record(&mut headers).unwrap();
        assert_eq!((second.timestamp, second.type_id, second.key), (1_700_000_000_000, (1 << 53) - 1, Some(&b"k"[..])));
        assert_eq!(headers, vec![("h", None), ("h", Some(&b"v"[..]))]);
        assert_eq!(reader.record(&mut headers).err().as_deref(), Some("record input ends early"));
    }

    #[test]
    fn decode_table_words_are_at_the_named_positions() {
        let records = [
            Record { timestamp: -2, type_id: (1 << 40) + 3, key: None, value: Some(b"v0".to_vec()), headers: vec![] },
            Record { timestamp: 1 << 41, type_id: 0, key: Some(b"key".to_vec()), value: None, headers: vec![("a".into(), None), ("bc".into(), Some(b"x".to_vec()))] },
        ];
        let mut bytes = Vec::new();
        batch::encode(&records, &EncodeOptions::default(), &mut bytes).unwrap();
        let mut scratch = Vec::new();
        let (header, section) = batch::open(&bytes, 1 << 20, true, &mut scratch).unwrap();
        let mut table = Vec::new();
        start_decode_table(&mut table, header.record_count, section);
        batch::for_each_record(section, &header, |r, hs| push_record(&mut table, r, hs)).unwrap();
        assert_eq!(table[DECODE_RECORD_COUNT], 2);
        assert_eq!((table[DECODE_SECTION_ADDR], table[DECODE_SECTION_LEN] as usize), (addr(section), section.len()));
        let at = |r: usize, word: usize| table[r + word];
        let (r0, r1) = (DECODE_HEAD_WORDS, DECODE_HEAD_WORDS + RECORD_WORDS);
        let wide = |r: usize, lo: usize, hi: usize| i64::from(at(r, hi) as i32) << 32 | i64::from(at(r, lo));
        assert_eq!(wide(r0, RECORD_TIMESTAMP_LO, RECORD_TIMESTAMP_HI), -2);
        assert_eq!(wide(r0, RECORD_TYPE_ID_LO, RECORD_TYPE_ID_HI), (1 << 40) + 3);
        assert_eq!((at(r0, RECORD_KEY_LEN), at(r0, RECORD_VALUE_LEN), at(r0, RECORD_HEADER_COUNT)), (NULL_LEN, 2, 0));
        assert_eq!(wide(r1, RECORD_TIMESTAMP_LO, RECORD_TIMESTAMP_HI), 1 << 41);
        assert_eq!((at(r1, RECORD_KEY_LEN), at(r1, RECORD_VALUE_LEN), at(r1, RECORD_HEADER_COUNT)), (3, NULL_LEN, 2));
        let key_at = at(r1, RECORD_KEY_ADDR).wrapping_sub(addr(section));
        assert_eq!(&section[key_at as usize..key_at as usize + 3], b"key");
        let h1 = r1 + RECORD_WORDS + HEADER_WORDS;
        assert_eq!((table[h1 + HEADER_KEY_LEN], table[h1 + HEADER_VALUE_LEN]), (2, 1));
        assert_eq!(table[r1 + RECORD_WORDS + HEADER_VALUE_LEN], NULL_LEN);
        let value_at = table[h1 + HEADER_VALUE_ADDR].wrapping_sub(addr(section)) as usize;
        assert_eq!(&section[value_at..value_at + 1], b"x");
        assert_eq!(table[h1 + HEADER_KEY_ADDR].wrapping_add(3), table[h1 + HEADER_VALUE_ADDR], "key bc, then the value's length varint");
        assert_eq!(table.len(), DECODE_HEAD_WORDS + 2 * RECORD_WORDS + 2 * HEADER_WORDS);
    }
}
