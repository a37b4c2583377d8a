//! The WebAssembly boundary the JavaScript loader calls. Inputs are written
//! by JS into the buffer `pw_input` returns; results go to the output bytes
//! and/or the u32 table, whose addresses JS reads after the call. Every call
//! returns 0 on success or an `ErrorCode` with its message in the output.
//! A batch or a chunk of frames crosses the boundary once, however many
//! records or frames it holds.
//!
//! Nothing here is `unsafe`: pointers are only handed to JS as numbers, and
//! JS writes the input buffer between calls, when Rust holds no reference to it.

use crate::batch::{self, BatchWriter, EncodeOptions, HeaderRef, RecordRef};
use crate::compression::{self, Codec};
use crate::error::ErrorCode;
use crate::frame::{self, FrameDecoder, FrameRef};
use std::cell::RefCell;
use std::fmt::Display;

#[derive(Default)]
struct State {
    input: Vec<u8>,
    output: Vec<u8>,
    scratch: Vec<u8>,
    table: Vec<u32>,
    decoders: Vec<Option<FrameDecoder>>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

const NULL_LEN: u32 = u32::MAX;

fn addr(bytes: &[u8]) -> u32 {
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

fn fail(output: &mut Vec<u8>, code: ErrorCode, message: impl Display) -> u32 {
    output.clear();
    output.extend_from_slice(message.to_string().as_bytes());
    code as u32
}

fn input_slice(input: &[u8], len: u32) -> Result<&[u8], String> {
    input.get(..len as usize).ok_or_else(|| format!("input length {len} exceeds the {} bytes reserved", input.len()))
}

macro_rules! input_or_fail {
    ($state:expr, $len:expr) => {
        match input_slice(&$state.input, $len) {
            Ok(bytes) => bytes,
            Err(message) => return fail(&mut $state.output, ErrorCode::InvalidArgument, message),
        }
    };
}

/// Makes the input buffer at least `len` bytes and returns its address, or
/// 0 when WASM memory cannot grow that far (the loader reports it).
#[no_mangle]
pub extern "C" fn pw_input(len: u32) -> u32 {
    with_state(|s| {
        let len = len as usize;
        if s.input.len() < len {
            if s.input.try_reserve_exact(len - s.input.len()).is_err() {
                return 0;
            }
            s.input.resize(len, 0);
        }
        s.input.as_ptr() as usize as u32
    })
}

/// Address of the last call's output bytes.
#[no_mangle]
pub extern "C" fn pw_output_ptr() -> u32 {
    with_state(|s| addr(&s.output))
}

/// Length of the last call's output bytes.
#[no_mangle]
pub extern "C" fn pw_output_len() -> u32 {
    with_state(|s| s.output.len() as u32)
}

/// Address of the last call's u32 table (4-byte aligned).
#[no_mangle]
pub extern "C" fn pw_table_ptr() -> u32 {
    with_state(|s| s.table.as_ptr() as usize as u32)
}

/// Number of u32 words in the last call's table.
#[no_mangle]
pub extern "C" fn pw_table_len() -> u32 {
    with_state(|s| s.table.len() as u32)
}

/// CRC-32C of the first `len` input bytes, continuing from `crc`.
#[no_mangle]
pub extern "C" fn pw_crc32c(len: u32, crc: u32) -> u32 {
    with_state(|s| crate::crc32c(crc, s.input.get(..len as usize).unwrap_or(&[])))
}

/// Kafka murmur2 of the first `len` input bytes.
#[no_mangle]
pub extern "C" fn pw_murmur2(len: u32) -> i32 {
    with_state(|s| crate::partition::murmur2(s.input.get(..len as usize).unwrap_or(&[])))
}

fn codec_or_fail(output: &mut Vec<u8>, id: u32) -> Result<Codec, u32> {
    let id = u8::try_from(id).unwrap_or(u8::MAX);
    Codec::from_id(id).map_err(|e| fail(output, e.code(), e))
}

/// Compresses the first `len` input bytes into the output.
#[no_mangle]
pub extern "C" fn pw_compress(codec: u32, len: u32, level: i32, has_level: u32) -> u32 {
    with_state(|s| {
        let codec = match codec_or_fail(&mut s.output, codec) {
            Ok(c) => c,
            Err(status) => return status,
        };
        let data = input_or_fail!(s, len);
        s.output.clear();
        match compression::compress(codec, data, (has_level != 0).then(|| level), &mut s.output) {
            Ok(()) => 0,
            Err(e) => fail(&mut s.output, e.code(), e),
        }
    })
}

/// Decompresses the first `len` input bytes into exactly `expected` output bytes.
#[no_mangle]
pub extern "C" fn pw_decompress(codec: u32, len: u32, expected: u32, max: u32) -> u32 {
    with_state(|s| {
        let codec = match codec_or_fail(&mut s.output, codec) {
            Ok(c) => c,
            Err(status) => return status,
        };
        let data = input_or_fail!(s, len);
        match compression::decompress(codec, data, expected as usize, max as usize, &mut s.output) {
            Ok(()) => 0,
            Err(e) => fail(&mut s.output, e.code(), e),
        }
    })
}

/// Encodes a frame from `message_len` message bytes then `payload_len`
/// payload bytes of input.
#[no_mangle]
pub extern "C" fn pw_encode_frame(kind: u32, correlation_id: u32, message_len: u32, payload_len: u32, checksum: u32) -> u32 {
    with_state(|s| {
        let kind = match u16::try_from(kind) {
            Ok(k) => k,
            Err(_) => return fail(&mut s.output, ErrorCode::InvalidArgument, format!("kind {kind} does not fit u16")),
        };
        let data = input_or_fail!(s, message_len.saturating_add(payload_len));
        let (message, payload) = data.split_at(message_len as usize);
        s.output.clear();
        match frame::encode_frame(kind, correlation_id, message, payload, checksum != 0, &mut s.output) {
            Ok(()) => 0,
            Err(e) => fail(&mut s.output, e.code(), e),
        }
    })
}

/// Creates a frame decoder; returns its handle.
#[no_mangle]
pub extern "C" fn pw_frame_decoder_new(max_frame_size: u32) -> u32 {
    with_state(|s| {
        let decoder = Some(FrameDecoder::new(max_frame_size));
        match s.decoders.iter().position(Option::is_none) {
            Some(i) => {
                s.decoders[i] = decoder;
                i as u32
            }
            None => {
                s.decoders.push(decoder);
                (s.decoders.len() - 1) as u32
            }
        }
    })
}

/// Frees a frame decoder; unknown handles are ignored.
#[no_mangle]
pub extern "C" fn pw_frame_decoder_free(handle: u32) {
    with_state(|s| {
        if let Some(slot) = s.decoders.get_mut(handle as usize) {
            *slot = None;
        }
    })
}

/// Bytes a decoder holds waiting for the rest of a frame.
#[no_mangle]
pub extern "C" fn pw_frame_decoder_buffered(handle: u32) -> u32 {
    with_state(|s| s.decoders.get(handle as usize).and_then(Option::as_ref).map_or(0, |d| d.buffered() as u32))
}

/// Feeds the first `len` input bytes to a decoder. The table gets 7 words per
/// completed frame: kind, flags, correlation id, message address and length,
/// payload address and length.
#[no_mangle]
pub extern "C" fn pw_frame_decoder_push(handle: u32, len: u32) -> u32 {
    with_state(|s| {
        let State { input, output, table, decoders, .. } = s;
        let chunk = match input_slice(input, len) {
            Ok(c) => c,
            Err(message) => return fail(output, ErrorCode::InvalidArgument, message),
        };
        let decoder = match decoders.get_mut(handle as usize).and_then(Option::as_mut) {
            Some(d) => d,
            None => return fail(output, ErrorCode::InvalidArgument, "the frame decoder was freed"),
        };
        table.clear();
        let result = decoder.push(chunk, |f: FrameRef<'_>| {
            table.extend_from_slice(&[u32::from(f.kind), u32::from(f.flags), f.correlation_id]);
            push_bytes(table, Some(f.message));
            push_bytes(table, Some(f.payload));
        });
        match result {
            Ok(()) => 0,
            Err(e) => fail(output, e.code(), e),
        }
    })
}

struct Flat<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Flat<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("record input ends early")?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f64(&mut self) -> Result<f64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(f64::from_le_bytes(a))
    }
    fn i64(&mut self) -> Result<i64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(a))
    }
    fn integer(&mut self, what: &str) -> Result<i64, String> {
        let v = self.f64()?;
        // Beyond 2^63 a float no longer names one i64.
        if v.fract() != 0.0 || !(-9.2e18..=9.2e18).contains(&v) {
            return Err(format!("{what} {v} is not an integer in range"));
        }
        Ok(v as i64)
    }
    fn bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, String> {
        match self.i32()? {
            -1 => Ok(None),
            n if n >= 0 => self.take(n as usize).map(Some),
            n => Err(format!("{what} length {n} is invalid")),
        }
    }
}

/// Encodes `count` records laid out by the loader in the first `len` input
/// bytes (little-endian; per record: f64 timestamp, i64 type id, key, value,
/// i32 header count, then per header key and value; each byte string is an
/// i32 length, -1 for null, then the bytes) into a batch in the output.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn pw_encode_batch(
    len: u32,
    count: u32,
    codec: u32,
    level: i32,
    has_level: u32,
    min_compress_size: u32,
    base_offset: i64,
    producer_id: i64,
    producer_epoch: i32,
    base_sequence: i32,
) -> u32 {
    with_state(|s| {
        let State { input, output, scratch, .. } = s;
        let codec = match codec_or_fail(output, codec) {
            Ok(c) => c,
            Err(status) => return status,
        };
        let producer_epoch = match i16::try_from(producer_epoch) {
            Ok(e) => e,
            Err(_) => {
                return fail(output, ErrorCode::InvalidArgument, format!("producerEpoch {producer_epoch} does not fit i16"))
            }
        };
        let options = EncodeOptions {
            codec,
            level: (has_level != 0).then(|| level),
            min_compress_size: min_compress_size as usize,
            base_offset,
            producer_id,
            producer_epoch,
            base_sequence,
        };
        let bytes = match input_slice(input, len) {
            Ok(b) => b,
            Err(message) => return fail(output, ErrorCode::InvalidArgument, message),
        };
        output.clear();
        let mut writer = BatchWriter::new(output);
        let mut flat = Flat { bytes, pos: 0 };
        let mut headers: Vec<(&str, Option<&[u8]>)> = Vec::new();
        let mut step = || -> Result<(), String> {
            let timestamp = flat.integer("timestamp")?;
            let type_id = flat.i64()?;
            let key = flat.bytes("key")?;
            let value = flat.bytes("value")?;
            let header_count = flat.i32()?;
            headers.clear();
            for _ in 0..header_count.max(0) {
                let key = flat.bytes("header key")?.ok_or("a header key is null")?;
                let key = std::str::from_utf8(key).map_err(|_| "a header key is not UTF-8 (PW-BATCH-012)")?;
                headers.push((key, flat.bytes("header value")?));
            }
            writer.push(timestamp, type_id, key, value, &headers).map_err(|e| e.to_string())
        };
        for _ in 0..count {
            if let Err(message) = step() {
                drop(writer);
                return fail(output, ErrorCode::InvalidArgument, message);
            }
        }
        drop(step);
        match writer.finish(&options, scratch) {
            Ok(()) => 0,
            Err(e) => fail(output, e.code(), e),
        }
    })
}

/// Fully validates the batch in the first `len` input bytes (§5).
#[no_mangle]
pub extern "C" fn pw_verify_batch(len: u32, max_uncompressed: u32) -> u32 {
    with_state(|s| {
        let State { input, output, scratch, .. } = s;
        let bytes = match input_slice(input, len) {
            Ok(b) => b,
            Err(message) => return fail(output, ErrorCode::InvalidArgument, message),
        };
        match batch::verify(bytes, max_uncompressed as usize, scratch) {
            Ok(_) => 0,
            Err(e) => fail(output, e.code(), e),
        }
    })
}

/// Decodes the batch in the first `len` input bytes. The table gets the
/// record count, the records section's address and length, then per record: timestamp (lo, hi), type id (lo, hi), key
/// and value (address, length or u32::MAX for null), header count, and per
/// header key and value (address, length). Addresses point into the input
/// or the decompression scratch, valid until the next call.
#[no_mangle]
pub extern "C" fn pw_decode_batch(len: u32, max_uncompressed: u32, verify_crc: u32) -> u32 {
    with_state(|s| {
        let State { input, output, scratch, table, .. } = s;
        let bytes = match input_slice(input, len) {
            Ok(b) => b,
            Err(message) => return fail(output, ErrorCode::InvalidArgument, message),
        };
        let (header, section) = match batch::open(bytes, max_uncompressed as usize, verify_crc != 0, scratch) {
            Ok(opened) => opened,
            Err(e) => return fail(output, e.code(), e),
        };
        table.clear();
        table.extend_from_slice(&[header.record_count, addr(section), section.len() as u32]);
        let result = batch::for_each_record(section, &header, |r: &RecordRef<'_>, headers: &[HeaderRef<'_>]| {
            push_i64(table, r.timestamp);
            push_i64(table, r.type_id);
            push_bytes(table, r.key);
            push_bytes(table, r.value);
            table.push(headers.len() as u32);
            for h in headers {
                push_bytes(table, Some(h.key.as_bytes()));
                push_bytes(table, h.value);
            }
        });
        match result {
            Ok(()) => 0,
            Err(e) => fail(output, e.code(), e),
        }
    })
}
