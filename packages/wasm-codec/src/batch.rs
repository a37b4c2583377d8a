//! Record batches (spec §5): the 57-byte header, the records section, CRC-32C
//! and compression. Encoding writes the records straight after the header so
//! an uncompressed batch is built without an intermediate copy; decoding
//! validates every clause of §5 before a record is trusted.

use crate::compression::{self, Codec, CompressionError};
use crate::error::ErrorCode;
use crate::varint;
use std::fmt;

/// Bytes of the fixed batch header.
pub const HEADER_SIZE: usize = 57;
/// The only v1 magic (PW-BATCH-002).
pub const MAGIC: u8 = 1;
/// First byte covered by the CRC (PW-BATCH-003).
pub const CRC_START: usize = 17;
/// Smallest legal `batch_length` (PW-BATCH-001).
pub const MIN_BATCH_LENGTH: u32 = (HEADER_SIZE - 12) as u32;
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
        if batch.len() < HEADER_SIZE {
            let declared_total = if batch.len() >= 12 { 12 + u64::from(be_u32(batch, 8)) } else { HEADER_SIZE as u64 };
            return Err(BatchError::Length { declared_total, available: batch.len() });
        }
        let batch_length = be_u32(batch, 8);
        let declared_total = 12 + u64::from(batch_length);
        if batch_length < MIN_BATCH_LENGTH || declared_total != batch.len() as u64 {
            return Err(BatchError::Length { declared_total, available: batch.len() });
        }
        let magic = batch[12];
        if magic != MAGIC {
            return Err(BatchError::Magic(magic));
        }
        Ok(BatchHeader {
            base_offset: be_i64(batch, 0),
            batch_length,
            magic,
            crc: be_u32(batch, 13),
            attributes: be_u16(batch, 17),
            record_count: be_u32(batch, 19),
            first_timestamp: be_i64(batch, 23),
            max_timestamp: be_i64(batch, 31),
            producer_id: be_i64(batch, 39),
            producer_epoch: be_u16(batch, 47) as i16,
            base_sequence: be_u32(batch, 49) as i32,
            uncompressed_size: be_u32(batch, 53),
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

/// Full validation a broker does before storing (§5): returns the header.
pub fn verify(batch: &[u8], max_uncompressed: usize, scratch: &mut Vec<u8>) -> Result<BatchHeader, BatchError> {
    let (header, section) = open(batch, max_uncompressed, true, scratch)?;
    for_each_record(section, &header, |_, _| {})?;
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

/// How to encode a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    pub codec: Codec,
    pub level: Option<i32>,
    pub min_compress_size: usize,
    pub base_offset: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

impl Default for EncodeOptions {
    fn default() -> EncodeOptions {
        EncodeOptions {
            codec: Codec::None,
            level: None,
            min_compress_size: DEFAULT_MIN_COMPRESS_SIZE,
            base_offset: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
        }
    }
}

/// Writes records into a batch being built in `out`, after its header.
pub struct BatchWriter<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
    count: u32,
    first_timestamp: i64,
    max_timestamp: i64,
}

fn bytes_len(b: Option<&[u8]>) -> usize {
    match b {
        None => varint::encoded_len(-1),
        Some(b) => varint::encoded_len(b.len() as i64) + b.len(),
    }
}

fn write_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => varint::write(out, -1),
        Some(b) => {
            varint::write(out, b.len() as i64);
            out.extend_from_slice(b);
        }
    }
}

impl<'o> BatchWriter<'o> {
    /// Starts a batch at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> BatchWriter<'o> {
        let start = out.len();
        out.resize(start + HEADER_SIZE, 0);
        BatchWriter { out, start, count: 0, first_timestamp: 0, max_timestamp: i64::MIN }
    }

    /// Appends one record; `headers` are (UTF-8 key, value) pairs.
    pub fn push(
        &mut self,
        timestamp: i64,
        type_id: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<(), BatchError> {
        if !(0..=MAX_TYPE_ID).contains(&type_id) {
            return Err(BatchError::InvalidInput(format!("typeId {type_id} is outside 0..=2^53-1 (PW-BATCH-014)")));
        }
        if self.count == u32::MAX {
            return Err(BatchError::InvalidInput("too many records for one batch".into()));
        }
        if self.count == 0 {
            self.first_timestamp = timestamp;
        }
        let delta = timestamp
            .checked_sub(self.first_timestamp)
            .ok_or_else(|| BatchError::InvalidInput(format!("timestamp {timestamp} is too far from the first record's")))?;
        let offset_delta = i64::from(self.count);
        let mut body = 1 + varint::encoded_len(delta) + varint::encoded_len(offset_delta) + varint::encoded_len(type_id);
        body += bytes_len(key) + bytes_len(value) + varint::encoded_len(headers.len() as i64);
        for (k, v) in headers {
            body += bytes_len(Some(k.as_bytes())) + bytes_len(*v);
        }
        let out = &mut *self.out;
        out.reserve(varint::MAX_VARINT_LEN + body);
        varint::write(out, body as i64);
        out.push(0);
        varint::write(out, delta);
        varint::write(out, offset_delta);
        varint::write(out, type_id);
        write_bytes(out, key);
        write_bytes(out, value);
        varint::write(out, headers.len() as i64);
        for (k, v) in headers {
            write_bytes(out, Some(k.as_bytes()));
            write_bytes(out, *v);
        }
        self.count += 1;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        Ok(())
    }

    /// Compresses the records if the options ask and it pays (PW-COMP-007),
    /// then fills in the header and CRC. `scratch` holds the compressed copy.
    pub fn finish(self, options: &EncodeOptions, scratch: &mut Vec<u8>) -> Result<(), BatchError> {
        let BatchWriter { out, start, count, first_timestamp, max_timestamp } = self;
        let fail = |e: BatchError, out: &mut Vec<u8>| {
            out.truncate(start);
            Err(e)
        };
        if count == 0 {
            return fail(BatchError::InvalidInput("a batch needs at least one record (PW-BATCH-006)".into()), out);
        }
        if let Err(e) = check_producer(options.producer_id, options.producer_epoch, options.base_sequence) {
            return fail(BatchError::InvalidInput(e.to_string()), out);
        }
        let section_start = start + HEADER_SIZE;
        let uncompressed = out.len() - section_start;
        let uncompressed_size = match u32::try_from(uncompressed) {
            Ok(n) => n,
            Err(_) => return fail(BatchError::InvalidInput(format!("records section of {uncompressed} bytes exceeds 4 GiB")), out),
        };
        let mut codec = Codec::None;
        if options.codec != Codec::None && uncompressed >= options.min_compress_size {
            scratch.clear();
            if let Err(e) = compression::compress(options.codec, &out[section_start..], options.level, scratch) {
                return fail(e.into(), out);
            }
            if scratch.len() < uncompressed {
                out.truncate(section_start);
                out.extend_from_slice(scratch);
                codec = options.codec;
            }
        } else if let Err(e) = compression::check_level(options.codec, options.level) {
            // A bad level fails the same way whatever the batch size.
            return fail(e.into(), out);
        }
        let batch_length = match u32::try_from(out.len() - start - 12) {
            Ok(n) => n,
            Err(_) => return fail(BatchError::InvalidInput("batch exceeds 4 GiB".into()), out),
        };
        let h = &mut out[start..section_start];
        h[0..8].copy_from_slice(&options.base_offset.to_be_bytes());
        h[8..12].copy_from_slice(&batch_length.to_be_bytes());
        h[12] = MAGIC;
        h[17..19].copy_from_slice(&(codec as u16).to_be_bytes());
        h[19..23].copy_from_slice(&count.to_be_bytes());
        h[23..31].copy_from_slice(&first_timestamp.to_be_bytes());
        h[31..39].copy_from_slice(&max_timestamp.to_be_bytes());
        h[39..47].copy_from_slice(&options.producer_id.to_be_bytes());
        h[47..49].copy_from_slice(&options.producer_epoch.to_be_bytes());
        h[49..53].copy_from_slice(&options.base_sequence.to_be_bytes());
        h[53..57].copy_from_slice(&uncompressed_size.to_be_bytes());
        let crc = compute_crc(&out[start..]);
        out[start + 13..start + 17].copy_from_slice(&crc.to_be_bytes());
        Ok(())
    }
}

/// Encodes owned records into one batch appended to `out`.
pub fn encode(records: &[Record], options: &EncodeOptions, out: &mut Vec<u8>) -> Result<(), BatchError> {
    let mut writer = BatchWriter::new(out);
    let mut headers: Vec<(&str, Option<&[u8]>)> = Vec::new();
    for r in records {
        headers.clear();
        headers.extend(r.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())));
        writer.push(r.timestamp, r.type_id, r.key.as_deref(), r.value.as_deref(), &headers)?;
    }
    writer.finish(options, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(i: i64) -> Record {
        Record {
            timestamp: 1_700_000_000_000 + i,
            type_id: i % 4,
            key: if i % 3 == 0 { None } else { Some(format!("k{i}").into_bytes()) },
            value: Some(format!("{{\"i\":{i},\"msg\":\"request handled\"}}").into_bytes()),
            headers: vec![("h".into(), Some(b"v".to_vec())), ("h".into(), None)],
        }
    }

    fn encoded(records: &[Record], codec: Codec) -> Vec<u8> {
        let mut out = Vec::new();
        encode(records, &EncodeOptions { codec, min_compress_size: 0, ..EncodeOptions::default() }, &mut out).unwrap();
        out
    }

    fn resign(batch: &mut [u8]) {
        let crc = compute_crc(batch);
        batch[13..17].copy_from_slice(&crc.to_be_bytes());
    }

    #[test]
    fn pw_batch_003_crc_excludes_base_offset() {
        let mut b = encoded(&[record(1), record(2)], Codec::Lz4);
        b[..8].copy_from_slice(&99i64.to_be_bytes());
        let mut scratch = Vec::new();
        assert_eq!(verify(&b, DEFAULT_MAX_UNCOMPRESSED, &mut scratch).unwrap().base_offset, 99);
        b[20] ^= 1;
        assert!(matches!(verify(&b, DEFAULT_MAX_UNCOMPRESSED, &mut scratch), Err(BatchError::Crc { .. })));
    }

    #[test]
    fn pw_batch_validation_codes() {
        let good = encoded(&[record(1), record(2)], Codec::None);
        let mut scratch = Vec::new();
        let mut check = |edit: &dyn Fn(&mut Vec<u8>), code: ErrorCode| {
            let mut b = good.clone();
            edit(&mut b);
            resign(&mut b);
            assert_eq!(verify(&b, DEFAULT_MAX_UNCOMPRESSED, &mut scratch).unwrap_err().code(), code);
        };
        check(&|b| b[12] = 0, ErrorCode::CorruptBatch);
        check(&|b| b[18] = 5, ErrorCode::UnsupportedCodec);
        check(&|b| b[17] = 1, ErrorCode::CorruptBatch);
        check(&|b| b[19..23].copy_from_slice(&0u32.to_be_bytes()), ErrorCode::CorruptBatch);
        check(&|b| b[19..23].copy_from_slice(&3u32.to_be_bytes()), ErrorCode::CorruptBatch);
        check(&|b| b[31..39].copy_from_slice(&0i64.to_be_bytes()), ErrorCode::CorruptBatch);
        check(&|b| b[39..47].copy_from_slice(&7i64.to_be_bytes()), ErrorCode::CorruptBatch);
        check(&|b| b[53..57].copy_from_slice(&1u32.to_be_bytes()), ErrorCode::CorruptBatch);
        check(&|b| b.truncate(b.len() - 1), ErrorCode::CorruptBatch);
        let big = encoded(&(0..100).map(record).collect::<Vec<_>>(), Codec::Zstd);
        let size = BatchHeader::parse(&big).unwrap().uncompressed_size as usize;
        assert_eq!(verify(&big, size - 1, &mut scratch).unwrap_err().code(), ErrorCode::DecompressionLimit);
    }

    #[test]
    fn pw_comp_007_stores_uncompressed_when_small_or_incompressible() {
        let records: Vec<Record> = (0..50).map(record).collect();
        let mut out = Vec::new();
        encode(&records, &EncodeOptions { codec: Codec::Snappy, min_compress_size: 1 << 20, ..EncodeOptions::default() }, &mut out).unwrap();
        assert_eq!(BatchHeader::parse(&out).unwrap().codec().unwrap(), Codec::None);
        let noise: Vec<u8> = (0u32..3000).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ (i as u8).rotate_left(3)).collect();
        let r = Record { timestamp: 0, type_id: 0, key: None, value: Some(noise), headers: vec![] };
        for codec in Codec::ALL {
            let b = encoded(std::slice::from_ref(&r), codec);
            let h = BatchHeader::parse(&b).unwrap();
            assert!(h.codec().unwrap() == Codec::None || (b.len() - HEADER_SIZE) < h.uncompressed_size as usize);
        }
    }

    #[test]
    fn encode_rejects_bad_input() {
        let mut out = vec![1, 2, 3];
        assert_eq!(encode(&[], &EncodeOptions::default(), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(out, vec![1, 2, 3], "a failed encode leaves the output as it was");
        let mut r = record(1);
        r.type_id = -1;
        assert_eq!(encode(&[r.clone()], &EncodeOptions::default(), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
        r.type_id = MAX_TYPE_ID + 1;
        assert_eq!(encode(&[r], &EncodeOptions::default(), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
        let opts = EncodeOptions { producer_id: 1, ..EncodeOptions::default() };
        assert_eq!(encode(&[record(1)], &opts, &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
    }

    fn record_strategy() -> impl Strategy<Value = Record> {
        (
            -(1i64 << 50)..(1i64 << 50),
            0i64..=MAX_TYPE_ID,
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..30)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
            proptest::collection::vec((".{0,8}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))), 0..4),
        )
            .prop_map(|(timestamp, type_id, key, value, headers)| Record { timestamp, type_id, key, value, headers })
    }

    proptest! {
        #[test]
        fn every_batch_shape_round_trips(records in proptest::collection::vec(record_strategy(), 1..30), codec_id in 0u8..5, base in 0i64..i64::MAX / 2) {
            let codec = Codec::from_id(codec_id).unwrap();
            let mut out = Vec::new();
            encode(&records, &EncodeOptions { codec, min_compress_size: 0, base_offset: base, ..EncodeOptions::default() }, &mut out).unwrap();
            let (header, decoded) = decode(&out, DEFAULT_MAX_UNCOMPRESSED, true).unwrap();
            prop_assert_eq!(header.base_offset, base);
            prop_assert_eq!(header.record_count as usize, records.len());
            prop_assert_eq!(header.max_timestamp, records.iter().map(|r| r.timestamp).max().unwrap());
            prop_assert_eq!(decoded, records);
        }

        #[test]
        fn any_bytes_decode_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut scratch = Vec::new();
            let _ = verify(&bytes, 1 << 16, &mut scratch);
            let _ = decode(&bytes, 1 << 16, false);
        }

        #[test]
        fn mutated_batches_decode_or_fail(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), codec_id in 0u8..5, fix_crc in any::<bool>()) {
            let mut b = encoded(&(0..20).map(record).collect::<Vec<_>>(), Codec::from_id(codec_id).unwrap());
            for (at, byte) in edits {
                let i = at.index(b.len());
                b[i] = byte;
            }
            if fix_crc {
                resign(&mut b);
            }
            if let Ok((header, records)) = decode(&b, 1 << 20, true) {
                prop_assert_eq!(header.record_count as usize, records.len());
            }
        }
    }
}
