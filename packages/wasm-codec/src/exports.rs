//! The WebAssembly exports the JavaScript loader calls (`src/wasm.ts`).
//! Inputs are written by JS into the buffer `pw_input` returns; results go
//! to the output bytes and/or the u32 table, whose addresses JS reads after
//! the call; `abi.rs` describes both layouts. Every call returns 0 on
//! success or an `ErrorCode` with its message in the output. A batch
//! crosses the boundary once, however many records it holds.
//!
//! Nothing here is `unsafe`: pointers are only handed to JS as numbers, and
//! JS writes the input buffer between calls, when Rust holds no reference to
//! it. The module is allowed `unsafe_code` for `#[no_mangle]` only.

use crate::abi::{self, addr, InputReader};
use crate::batch::{self, BatchWriter, EncodeOptions};
use crate::compression::{self, Codec};
use crate::error::ErrorCode;
use crate::frame;
use std::cell::RefCell;
use std::fmt::Display;

#[derive(Default)]
struct State {
    input: Vec<u8>,
    output: Vec<u8>,
    scratch: Vec<u8>,
    table: Vec<u32>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
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

/// Encodes `count` records laid out by the loader in the first `len` input
/// bytes (see `abi.rs`) into a batch in the output.
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
        let mut reader = InputReader::new(bytes);
        let mut headers: Vec<(&str, Option<&[u8]>)> = Vec::new();
        let mut step = || -> Result<(), String> {
            let r = reader.record(&mut headers)?;
            writer.push(r.timestamp, r.type_id, r.key, r.value, &headers).map_err(|e| e.to_string())
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

/// Decodes the batch in the first `len` input bytes into the decode table
/// (see `abi.rs`). Addresses point into the input or the decompression
/// scratch, valid until the next call.
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
        abi::start_decode_table(table, header.record_count, section);
        let result = batch::for_each_record(section, &header, |r, headers| abi::push_record(table, r, headers));
        match result {
            Ok(()) => 0,
            Err(e) => fail(output, e.code(), e),
        }
    })
}
