//! Record batches (spec §5): the 57-byte header, the records section, CRC-32C
//! and compression. Decoding validates every clause of §5 before a record is
//! trusted; encoding is in `writer`.

use crate::compression::{self, Codec, CompressionError};
use crate::error::ErrorCode;
use crate::varint;
use std::fmt;

/// Bytes of the fixed batch header.
pub const HEADER_SIZE: usize = 57;
/// `base_offset` and `batch_length`: the bytes `batch_length` does not count.
pub const LENGTH_PREFIX: usize = 12;
/// The only v1 magic (PW-BATCH-002).
pub const MAGIC: u8 = 1;
/// First byte covered by the CRC (PW-BATCH-003).
pub const CRC_START: usize = field::ATTRIBUTES;
/// Smallest legal `batch_length` (PW-BATCH-001).
pub const MIN_BATCH_LENGTH: u32 = (HEADER_SIZE - LENGTH_PREFIX) as u32;

/// Where each header field starts (spec §5.1); all are big-endian. The
/// JavaScript side names the same offsets in `src/layout.ts` (`BatchField`),
/// and `test/layout.test.ts` checks the two agree.
pub mod field {
    pub const BASE_OFFSET: usize = 0;
    pub const BATCH_LENGTH: usize = 8;
    pub const MAGIC: usize = 12;
    pub const CRC: usize = 13;
    pub const ATTRIBUTES: usize = 17;
    pub const RECORD_COUNT: usize = 19;
    pub const FIRST_TIMESTAMP: usize = 23;
    pub const MAX_TIMESTAMP: usize = 31;
    pub const PRODUCER_ID: usize = 39;
    pub const PRODUCER_EPOCH: usize = 47;
    pub const BASE_SEQUENCE: usize = 49;
    pub const UNCOMPRESSED_SIZE: usize = 53;
}
/// Default uncompressed-size cap (PW-LIM-005).
pub const DEFAULT_MAX_UNCOMPRESSED: usize = 64 * 1024 * 1024;
/// Default records-section size below which encoders store uncompressed.
pub const DEFAULT_MIN_COMPRESS_SIZE: usize = 1024;
/// Largest record `type_id` (PW-BATCH-014): 2^53-1, which every language,
/// JavaScript included, holds exactly.
pub const MAX_TYPE_ID: i64 = (1 << 53) - 1;
const RESERVED_ATTRIBUTES: u16 = !0x7;

/// The fixed header of a batch (spec §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: u32,
    pub magic: u8,
    pub crc: u32,
    pub attributes: u16,
    pub record_count: u32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub uncompressed_size: u32,
}

/// Why a batch is invalid, or cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    /// Fewer bytes than a header, or `batch_length` disagrees with them (PW-BATCH-001).
    Length { declared_total: u64, available: usize },
    /// `magic` is not 1 (PW-BATCH-002).
    Magic(u8),
    /// The CRC-32C does not match (PW-BATCH-003).
    Crc { stored: u32, computed: u32 },
    /// Reserved attribute bits are set (PW-BATCH-005).
    ReservedAttributes(u16),
    /// Producer fields are neither all -1 nor all non-negative (PW-BATCH-009).
    ProducerFields { producer_id: i64, producer_epoch: i16, base_sequence: i32 },
    /// Compression codec, limit or compressed-data failure (§5.3).
    Compression(CompressionError),
    /// A record or the records section breaks §5.2 (the index is 0-based).
    Record { index: u32, reason: String },
    /// Header counters disagree with the records (PW-BATCH-006/008).
    Header(String),
    /// The records to encode are not representable.
    InvalidInput(String),
}

impl BatchError {
    /// The stable code this error maps to.
    pub fn code(&self) -> ErrorCode {
        match self {
            BatchError::Compression(e) => e.code(),
            BatchError::InvalidInput(_) => ErrorCode::InvalidArgument,
            _ => ErrorCode::CorruptBatch,
        }
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Length { declared_total, available } => write!(
                f,
                "batch declares {declared_total} bytes but {available} are given (PW-BATCH-001)"
            ),
            BatchError::Magic(m) => write!(f, "magic {m} is not 1 (PW-BATCH-002)"),
            BatchError::Crc { stored, computed } => {
                write!(f, "batch crc 0x{stored:08x} does not match computed 0x{computed:08x} (PW-BATCH-003)")
            }
            BatchError::ReservedAttributes(a) => write!(f, "reserved attribute bits set in 0x{a:04x} (PW-BATCH-005)"),
            BatchError::ProducerFields { producer_id, producer_epoch, base_sequence } => write!(
                f,
                "producer fields {producer_id}/{producer_epoch}/{base_sequence} are neither all -1 nor all non-negative (PW-BATCH-009)"
            ),
            BatchError::Compression(e) => e.fmt(f),
            BatchError::Record { index, reason } => write!(f, "record {index}: {reason} (PW-BATCH-011)"),
            BatchError::Header(reason) => f.write_str(reason),
            BatchError::InvalidInput(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for BatchError {}

impl From<CompressionError> for BatchError {
    fn from(e: CompressionError) -> BatchError {
        BatchError::Compression(e)
    }
}

fn be_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Reads the header of `batch`, which must be exactly one whole batch:
    /// checks `batch_length` against the bytes given and the magic, nothing else.
    pub fn parse(batch: &[u8]) -> Result<BatchHeader, BatchError> {
        let prefix = LENGTH_PREFIX as u64;
        if batch.len() < HEADER_SIZE {
            let declared_total =
                if batch.len() >= LENGTH_PREFIX { prefix + u64::from(be_u32(batch, field::BATCH_LENGTH)) } else { HEADER_SIZE as u64 };
            return Err(BatchError::Length { declared_total, available: batch.len() });
        }
        let batch_length = be_u32(batch, field::BATCH_LENGTH);
        let declared_total = prefix + u64::from(batch_length);
        if batch_length < MIN_BATCH_LENGTH || declared_total != batch.len() as u64 {
            return Err(BatchError::Length { declared_total, available: batch.len() });
        }
        let magic = batch[field::MAGIC];
        if magic != MAGIC {
            return Err(BatchError::Magic(magic));
        }
        Ok(BatchHeader {
            base_offset: be_i64(batch, field::BASE_OFFSET),
            batch_length,
            magic,
            crc: be_u32(batch, field::CRC),
            attributes: be_u16(batch, field::ATTRIBUTES),
            record_count: be_u32(batch, field::RECORD_COUNT),
            first_timestamp: be_i64(batch, field::FIRST_TIMESTAMP),
            max_timestamp: be_i64(batch, field::MAX_TIMESTAMP),
            producer_id: be_i64(batch, field::PRODUCER_ID),
            producer_epoch: be_u16(batch, field::PRODUCER_EPOCH) as i16,
            base_sequence: be_u32(batch, field::BASE_SEQUENCE) as i32,
            uncompressed_size: be_u32(batch, field::UNCOMPRESSED_SIZE),
        })
    }

    /// The compression codec of the attributes; rejects reserved bits and codecs.
    pub fn codec(&self) -> Result<Codec, BatchError> {
        if self.attributes & RESERVED_ATTRIBUTES != 0 {
            return Err(BatchError::ReservedAttributes(self.attributes));
        }
        Ok(Codec::from_id((self.attributes & 0x7) as u8)?)
    }
}

fn check_producer(producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Result<(), BatchError> {
    let none = producer_id == -1 && producer_epoch == -1 && base_sequence == -1;
    let all = producer_id >= 0 && producer_epoch >= 0 && base_sequence >= 0;
    if none || all {
        Ok(())
    } else {
        Err(BatchError::ProducerFields { producer_id, producer_epoch, base_sequence })
    }
}

/// CRC-32C of the bytes the batch CRC covers.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crate::crc32c(0, batch.get(CRC_START..).unwrap_or(&[]))
}

/// Validates everything about `batch` that does not need the records (length,
/// magic, CRC when `verify_crc`, attributes, count, producer fields, limit),
/// then returns its header and uncompressed records section: borrowed from
/// `batch` when uncompressed, else decompressed into `scratch`.
pub fn open<'a>(
    batch: &'a [u8],
    max_uncompressed: usize,
    verify_crc: bool,
    scratch: &'a mut Vec<u8>,
) -> Result<(BatchHeader, &'a [u8]), BatchError> {
    let header = BatchHeader::parse(batch)?;
    if verify_crc {
        let computed = compute_crc(batch);
        if computed != header.crc {
            return Err(BatchError::Crc { stored: header.crc, computed });
        }
    }
    let codec = header.codec()?;
    if header.record_count == 0 {
        return Err(BatchError::Header("record_count is 0 (PW-BATCH-006)".into()));
    }
    check_producer(header.producer_id, header.producer_epoch, header.base_sequence)?;
    let stored = &batch[HEADER_SIZE..];
    let expected = header.uncompressed_size as usize;
    if expected > max_uncompressed {
        return Err(CompressionError::LimitExceeded { size: expected as u64, max: max_uncompressed as u64 }.into());
    }
    if codec == Codec::None {
        if stored.len() != expected {
            return Err(BatchError::Header(format!(
                "uncompressed records section is {} bytes, uncompressed_size says {expected} (PW-BATCH-007)",
                stored.len()
            )));
        }
        return Ok((header, stored));
    }
    compression::decompress(codec, stored, expected, max_uncompressed, scratch)?;
    Ok((header, &scratch[..]))
}

/// A header of a record, borrowed from the records section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    pub key: &'a str,
    pub value: Option<&'a [u8]>,
}

/// A record borrowed from the records section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub index: u32,
    pub timestamp: i64,
    pub type_id: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    index: u32,
}

impl<'a> Cursor<'a> {
    fn fail(&self, reason: impl Into<String>) -> BatchError {
        BatchError::Record { index: self.index, reason: reason.into() }
    }
    fn varint(&mut self, what: &str) -> Result<i64, BatchError> {
        varint::read(self.bytes, &mut self.pos)
            .ok_or_else(|| self.fail(format!("{what}: varint runs past 10 bytes or the record's end")))
    }
    fn bytes(&mut self, what: &str, allow_null: bool) -> Result<Option<&'a [u8]>, BatchError> {
        let len = self.varint(what)?;
        if len == -1 && allow_null {
            return Ok(None);
        }
        if len < 0 {
            return Err(self.fail(format!("{what} length {len} is below {}", if allow_null { -1 } else { 0 })));
        }
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| self.pos.checked_add(l))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.fail(format!("{what} of {len} bytes runs past the record's end")))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(Some(out))
    }
}

/// Walks the records section, validating §5.2 and the header counters, and
/// calls `f` with each record and its headers (reusing one header vector).
/// On error, records already passed to `f` must be discarded.
pub fn for_each_record<'a>(
    section: &'a [u8],
    header: &BatchHeader,
    mut f: impl FnMut(&RecordRef<'a>, &[HeaderRef<'a>]),
) -> Result<(), BatchError> {
    let mut pos = 0usize;
    let mut index: u32 = 0;
    let mut headers: Vec<HeaderRef<'a>> = Vec::new();
    let mut max_timestamp = i64::MIN;
    while pos < section.len() {
        if index == header.record_count {
            return Err(BatchError::Header(format!(
                "records section holds more than record_count {} records (PW-BATCH-006)",
                header.record_count
            )));
        }
        let mut outer = Cursor { bytes: section, pos, index };
        let len = outer.varint("length")?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| outer.pos.checked_add(l))
            .filter(|&end| end <= section.len())
            .ok_or_else(|| outer.fail(format!("length {len} runs past the records section")))?;
        let mut c = Cursor { bytes: &section[..end], pos: outer.pos, index };
        let attributes = *c.bytes.get(c.pos).ok_or_else(|| c.fail("missing attributes"))?;
        c.pos += 1;
        if attributes != 0 {
            return Err(c.fail(format!("attributes {attributes} are not 0")));
        }
        let timestamp_delta = c.varint("timestamp_delta")?;
        let offset_delta = c.varint("offset_delta")?;
        if offset_delta != i64::from(index) {
            return Err(c.fail(format!("offset_delta {offset_delta} is not {index} (PW-BATCH-010)")));
        }
        let type_id = c.varint("type_id")?;
        if !(0..=MAX_TYPE_ID).contains(&type_id) {
            return Err(c.fail(format!("type_id {type_id} is outside 0..=2^53-1 (PW-BATCH-014)")));
        }
        let key = c.bytes("key", true)?;
        let value = c.bytes("value", true)?;
        let header_count = c.varint("header_count")?;
        if header_count < 0 {
            return Err(c.fail(format!("header_count {header_count} is negative")));
        }
        headers.clear();
        for _ in 0..header_count {
            let key_bytes = c.bytes("header key", false)?.unwrap_or(&[]);
            let key = std::str::from_utf8(key_bytes).map_err(|_| c.fail("header key is not UTF-8 (PW-BATCH-012)"))?;
            let value = c.bytes("header value", true)?;
            headers.push(HeaderRef { key, value });
        }
        if c.pos != end {
            return Err(c.fail(format!("length {len} disagrees with the {} bytes its fields occupy", c.pos - outer.pos)));
        }
        let timestamp = header
            .first_timestamp
            .checked_add(timestamp_delta)
            .ok_or_else(|| c.fail("first_timestamp + timestamp_delta overflows"))?;
        max_timestamp = max_timestamp.max(timestamp);
        f(&RecordRef { index, timestamp, type_id, key, value }, &headers);
        pos = end;
        index += 1;
    }
    if index != header.record_count {
        return Err(BatchError::Header(format!(
            "records section holds {index} records, record_count says {} (PW-BATCH-006)",
            header.record_count
        )));
    }
    if max_timestamp != header.max_timestamp {
        return Err(BatchError::Header(format!(
            "max_timestamp {} is not the largest record timestamp {max_timestamp} (PW-BATCH-008)",
            header.max_timestamp
        )));
    }
    Ok(())
}

/// Full validation a broker does before storing (§5, PW-COMP-014): returns the header.
pub fn verify(batch: &[u8], max_uncompressed: usize, scratch: &mut Vec<u8>) -> Result<BatchHeader, BatchError> {
    let (header, section) = open(batch, max_uncompressed, true, scratch)?;
    for_each_record(section, &header, |_, _| {})?;
    compression::check_storable(header.codec()?, &batch[HEADER_SIZE..], header.uncompressed_size as usize)?;
    Ok(header)
}

/// An owned record, for Rust callers and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub timestamp: i64,
    pub type_id: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Decodes a whole batch into owned records (offsets are `base_offset + i`).
pub fn decode(batch: &[u8], max_uncompressed: usize, verify_crc: bool) -> Result<(BatchHeader, Vec<Record>), BatchError> {
    let mut scratch = Vec::new();
    let (header, section) = open(batch, max_uncompressed, verify_crc, &mut scratch)?;
    let mut records = Vec::new();
    for_each_record(section, &header, |r, hs| {
        records.push(Record {
            timestamp: r.timestamp,
            type_id: r.type_id,
            key: r.key.map(<[u8]>::to_vec),
            value: r.value.map(<[u8]>::to_vec),
            headers: hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect(),
        })
    })?;
    Ok((header, records))
}

mod writer;
pub use writer::{encode, BatchWriter, EncodeOptions};

#[cfg(test)]
mod tests;
