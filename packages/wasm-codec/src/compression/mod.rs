//! Records-section compression (spec §5.3): gzip member, Snappy raw block,
//! LZ4 block and Zstandard frame, each decoded under an exact size guard.
//! This module dispatches by codec and owns the error type; each codec that
//! needs more than a call into its crate has a child module (gzip and zstd
//! are C libraries behind FFI, LZ4 adds the block checks liblz4 makes).

use crate::error::ErrorCode;
use std::fmt;

#[allow(unsafe_code)]
pub mod gzip;
mod lz4;
#[allow(unsafe_code)]
mod zstd;

/// A batch compression codec; the discriminant is the attribute value (spec §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

impl Codec {
    /// Every codec, in attribute order.
    pub const ALL: [Codec; 5] = [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd];

    /// The codec of attribute bits 0-2; 5-7 are reserved (PW-BATCH-005).
    pub fn from_id(id: u8) -> Result<Codec, CompressionError> {
        match id {
            0 => Ok(Codec::None),
            1 => Ok(Codec::Gzip),
            2 => Ok(Codec::Snappy),
            3 => Ok(Codec::Lz4),
            4 => Ok(Codec::Zstd),
            other => Err(CompressionError::UnsupportedCodec(other)),
        }
    }
}

/// Why a compression or decompression call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressionError {
    /// Attribute codec 5-7 or an unknown codec id.
    UnsupportedCodec(u8),
    /// A level outside the codec's range.
    InvalidLevel { codec: Codec, level: i32 },
    /// The input is too large for the codec's format.
    InputTooLarge(usize),
    /// The declared uncompressed size is above the caller's cap (PW-COMP-006).
    LimitExceeded { size: u64, max: u64 },
    /// Memory for the declared uncompressed size could not be allocated.
    CannotAllocate(usize),
    /// The compressed bytes are invalid, or decode to more or fewer bytes
    /// than declared (PW-COMP-005).
    Corrupt { codec: Codec, reason: String },
}

impl CompressionError {
    /// The stable code this error maps to.
    pub fn code(&self) -> ErrorCode {
        match self {
            CompressionError::UnsupportedCodec(_) => ErrorCode::UnsupportedCodec,
            CompressionError::InvalidLevel { .. } | CompressionError::InputTooLarge(_) => ErrorCode::InvalidArgument,
            CompressionError::LimitExceeded { .. } | CompressionError::CannotAllocate(_) => ErrorCode::DecompressionLimit,
            CompressionError::Corrupt { .. } => ErrorCode::CorruptBatch,
        }
    }
}

impl fmt::Display for CompressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompressionError::UnsupportedCodec(id) => write!(f, "unsupported compression codec {id}"),
            CompressionError::InvalidLevel { codec, level } => write!(f, "level {level} is out of range for {codec:?}"),
            CompressionError::InputTooLarge(len) => write!(f, "input of {len} bytes is too large to compress"),
            CompressionError::LimitExceeded { size, max } => {
                write!(f, "uncompressed size {size} exceeds the limit of {max} bytes")
            }
            CompressionError::CannotAllocate(size) => write!(f, "cannot allocate {size} bytes to decompress into"),
            CompressionError::Corrupt { codec, reason } => write!(f, "corrupt {codec:?} data: {reason}"),
        }
    }
}

impl std::error::Error for CompressionError {}

pub(crate) fn corrupt(codec: Codec, reason: impl fmt::Display) -> CompressionError {
    CompressionError::Corrupt { codec, reason: reason.to_string() }
}

/// Appends `data` compressed with `codec` to `out`. `level` of `None` means the
/// codec's default; Snappy and LZ4 have no levels and ignore it.
pub fn compress(codec: Codec, data: &[u8], level: Option<i32>, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    match codec {
        Codec::None => {
            out.extend_from_slice(data);
            Ok(())
        }
        Codec::Gzip => gzip::compress(data, level.unwrap_or(gzip::DEFAULT_LEVEL), out),
        Codec::Snappy => snappy_compress(data, out),
        Codec::Lz4 => lz4::compress(data, out),
        Codec::Zstd => zstd::compress(data, level, out),
    }
}

/// Checks `level` against the codec's range without compressing anything.
pub fn check_level(codec: Codec, level: Option<i32>) -> Result<(), CompressionError> {
    let ok = match (codec, level) {
        (_, None) | (Codec::None | Codec::Snappy | Codec::Lz4, _) => true,
        (Codec::Gzip, Some(l)) => (0..=gzip::MAX_LEVEL).contains(&l),
        (Codec::Zstd, Some(l)) => zstd::level_range().contains(&l),
    };
    if ok {
        Ok(())
    } else {
        Err(CompressionError::InvalidLevel { codec, level: level.unwrap_or_default() })
    }
}

fn snappy_compress(data: &[u8], out: &mut Vec<u8>) -> Result<(), CompressionError> {
    let max = snap::raw::max_compress_len(data.len());
    if max == 0 && !data.is_empty() {
        return Err(CompressionError::InputTooLarge(data.len()));
    }
    let start = out.len();
    out.resize(start + max.max(1), 0);
    let written = snap::raw::Encoder::new()
        .compress(data, &mut out[start..])
        .map_err(|e| corrupt(Codec::Snappy, e))?;
    out.truncate(start + written);
    Ok(())
}

/// Replaces the contents of `out` with `data` decompressed, which must be
/// exactly `expected` bytes (PW-COMP-005). Refuses before allocating when
/// `expected` exceeds `max` (PW-COMP-006), so no input can exhaust memory.
pub fn decompress(codec: Codec, data: &[u8], expected: usize, max: usize, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    if expected > max {
        return Err(CompressionError::LimitExceeded { size: expected as u64, max: max as u64 });
    }
    out.clear();
    // An allocation failure would abort (a trap in WASM): ask first.
    out.try_reserve_exact(expected).map_err(|_| CompressionError::CannotAllocate(expected))?;
    match codec {
        Codec::None => {
            if data.len() != expected {
                return Err(corrupt(codec, format!("{} bytes stored, {expected} declared", data.len())));
            }
            out.extend_from_slice(data);
            Ok(())
        }
        Codec::Gzip => gzip::decompress(data, expected, out),
        Codec::Snappy => {
            let declared = snap::raw::decompress_len(data).map_err(|e| corrupt(codec, e))?;
            if declared != expected {
                return Err(corrupt(codec, format!("block declares {declared} bytes, batch declares {expected}")));
            }
            out.resize(expected, 0);
            let n = snap::raw::Decoder::new().decompress(data, out).map_err(|e| corrupt(codec, e))?;
            check_len(codec, n, expected)
        }
        Codec::Lz4 => lz4::decompress(data, expected, out),
        Codec::Zstd => zstd::decompress(data, expected, out),
    }
}

/// What a broker must refuse in a compressed records section that decodes,
/// because some conforming decoders refuse it, and a consumer may accept
/// (PW-COMP-014): an LZ4 block that breaks the end-of-block rules.
pub fn check_storable(codec: Codec, data: &[u8], expected: usize) -> Result<(), CompressionError> {
    match codec {
        Codec::Lz4 => lz4::check_end_of_block(data, expected),
        _ => Ok(()),
    }
}

pub(crate) fn check_len(codec: Codec, got: usize, expected: usize) -> Result<(), CompressionError> {
    if got == expected {
        Ok(())
    } else {
        Err(corrupt(codec, format!("decoded {got} bytes, {expected} declared")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(codec: Codec, data: &[u8], level: Option<i32>) -> Vec<u8> {
        let mut packed = Vec::new();
        compress(codec, data, level, &mut packed).unwrap();
        let mut out = Vec::new();
        decompress(codec, &packed, data.len(), data.len(), &mut out).unwrap();
        out
    }

    #[test]
    fn levels() {
        let data = b"polywire polywire polywire polywire polywire".repeat(50);
        for level in 0..=12 {
            assert_eq!(round_trip(Codec::Gzip, &data, Some(level)), data);
        }
        for level in [-5, 1, 3, 19, 22] {
            assert_eq!(round_trip(Codec::Zstd, &data, Some(level)), data);
        }
        let mut out = Vec::new();
        assert_eq!(compress(Codec::Gzip, &data, Some(13), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(compress(Codec::Zstd, &data, Some(23), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert!(check_level(Codec::Lz4, Some(99)).is_ok());
    }

    #[test]
    fn pw_comp_006_limit_fires_before_work() {
        for codec in Codec::ALL {
            let mut out = Vec::new();
            let e = decompress(codec, &[], 1 << 40, 1 << 20, &mut out).unwrap_err();
            assert_eq!(e.code(), ErrorCode::DecompressionLimit);
            assert_eq!(out.capacity(), 0);
        }
    }

    #[test]
    fn pw_comp_005_overrun_and_underrun_are_corrupt() {
        let data = vec![7u8; 10_000];
        for codec in Codec::ALL {
            let mut packed = Vec::new();
            compress(codec, &data, None, &mut packed).unwrap();
            let mut out = Vec::new();
            for wrong in [data.len() - 1, data.len() + 1, 0] {
                let e = decompress(codec, &packed, wrong, 1 << 20, &mut out).unwrap_err();
                assert_eq!(e.code(), ErrorCode::CorruptBatch, "{codec:?} {wrong}");
            }
        }
    }

    #[test]
    fn pw_batch_005_reserved_codecs() {
        for id in 5..=7 {
            assert_eq!(Codec::from_id(id).unwrap_err().code(), ErrorCode::UnsupportedCodec);
        }
    }

    proptest! {
        #[test]
        fn every_codec_round_trips(data in proptest::collection::vec(any::<u8>(), 0..5000), text in "[a-z ]{0,3000}") {
            for codec in Codec::ALL {
                prop_assert_eq!(round_trip(codec, &data, None), data.clone());
                prop_assert_eq!(round_trip(codec, text.as_bytes(), None), text.as_bytes().to_vec());
            }
        }

        #[test]
        fn any_bytes_decode_or_fail(data in proptest::collection::vec(any::<u8>(), 0..400), expected in 0usize..3000) {
            for codec in Codec::ALL {
                let mut out = Vec::new();
                match decompress(codec, &data, expected, 1 << 16, &mut out) {
                    Ok(()) => prop_assert_eq!(out.len(), expected),
                    Err(e) => prop_assert_eq!(e.code(), ErrorCode::CorruptBatch),
                }
            }
        }
    }
}
