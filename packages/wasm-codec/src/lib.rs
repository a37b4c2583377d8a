//! Polywire's hot loops — frames, record batches, compression, CRC32C and
//! the partition hash — as one crate that compiles to WebAssembly for every
//! JavaScript runtime and runs natively for tests and fuzzing.
//!
//! The byte layouts are normative in `spec/polywire-v1.md` §2, §5 and §6;
//! the layouts exchanged with JavaScript are in `abi`. `unsafe` is denied
//! everywhere except in the C FFI of `compression::gzip` and
//! `compression::zstd` and in the WASM exports (`#[no_mangle]`).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod batch;
pub mod compression;
pub mod error;
pub mod frame;
pub mod partition;
pub mod varint;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod exports;

pub use error::ErrorCode;

/// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
pub fn crc32c(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}
