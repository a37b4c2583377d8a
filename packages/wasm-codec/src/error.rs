//! Stable error codes shared by every error enum of the crate. The numeric
//! values cross the WASM boundary and the names match the spec's ErrorCode
//! names without the `ERROR_CODE_` prefix, so they must never be renumbered.

use std::fmt;

/// The code a JavaScript `CodecError` carries; `repr(u32)` is its ABI value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u32)]
pub enum ErrorCode {
    MalformedFrame = 1,
    FrameTooLarge = 2,
    ChecksumMismatch = 3,
    CorruptBatch = 4,
    UnsupportedCodec = 5,
    DecompressionLimit = 6,
    InvalidArgument = 7,
}

impl ErrorCode {
    /// The spec's name of the code, without the `ERROR_CODE_` prefix.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::MalformedFrame => "MALFORMED_FRAME",
            ErrorCode::FrameTooLarge => "FRAME_TOO_LARGE",
            ErrorCode::ChecksumMismatch => "CHECKSUM_MISMATCH",
            ErrorCode::CorruptBatch => "CORRUPT_BATCH",
            ErrorCode::UnsupportedCodec => "UNSUPPORTED_CODEC",
            ErrorCode::DecompressionLimit => "DECOMPRESSION_LIMIT",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
