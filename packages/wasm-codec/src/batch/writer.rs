//! The batch encoder: records are written straight after a header-sized gap,
//! so an uncompressed batch is built without an intermediate copy, then the
//! header and CRC are filled in (spec §5.1, §5.2).

use super::{check_producer, compute_crc, field, BatchError, Record, DEFAULT_MIN_COMPRESS_SIZE, HEADER_SIZE, LENGTH_PREFIX, MAGIC, MAX_TYPE_ID};
use crate::compression::{self, Codec};
use crate::varint;

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
        let batch_length = match u32::try_from(out.len() - start - LENGTH_PREFIX) {
            Ok(n) => n,
            Err(_) => return fail(BatchError::InvalidInput("batch exceeds 4 GiB".into()), out),
        };
        let h = &mut out[start..section_start];
        let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
        put(field::BASE_OFFSET, &options.base_offset.to_be_bytes());
        put(field::BATCH_LENGTH, &batch_length.to_be_bytes());
        put(field::MAGIC, &[MAGIC]);
        put(field::ATTRIBUTES, &(codec as u16).to_be_bytes());
        put(field::RECORD_COUNT, &count.to_be_bytes());
        put(field::FIRST_TIMESTAMP, &first_timestamp.to_be_bytes());
        put(field::MAX_TIMESTAMP, &max_timestamp.to_be_bytes());
        put(field::PRODUCER_ID, &options.producer_id.to_be_bytes());
        put(field::PRODUCER_EPOCH, &options.producer_epoch.to_be_bytes());
        put(field::BASE_SEQUENCE, &options.base_sequence.to_be_bytes());
        put(field::UNCOMPRESSED_SIZE, &uncompressed_size.to_be_bytes());
        let crc = compute_crc(&out[start..]).to_be_bytes();
        out[start + field::CRC..start + field::CRC + crc.len()].copy_from_slice(&crc);
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
