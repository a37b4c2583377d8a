//! Frames (spec §2): the fixed 16-byte header, the encoder behind
//! `encodeFrame`, and a parser of one whole frame. The incremental decoder
//! that splits a byte stream into frames and enforces the maximum frame size
//! (PW-FRAME-006) is JavaScript (`src/frame-decoder.ts`): it needs no call into
//! WASM per chunk. This parser is its Rust counterpart for tests and fuzzing.

use crate::error::ErrorCode;
use std::fmt;

/// Bytes of the v1 frame header, `length` included.
pub const HEADER_SIZE: usize = 16;
/// Flag bit 0: the frame ends with a CRC-32C of everything before it.
pub const FLAG_CHECKSUM: u8 = 1;
/// Bytes of the CRC-32C trailer a CHECKSUM frame ends with.
pub const CHECKSUM_SIZE: usize = 4;

/// Why a frame was rejected or could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// `header_size` below 16 (PW-FRAME-002).
    HeaderTooSmall(u8),
    /// A reserved flag bit is set (PW-FRAME-003).
    ReservedFlags(u8),
    /// `length` is too small for the header (and checksum) it announces (PW-FRAME-005).
    LengthTooSmall { length: u32, header_size: u8 },
    /// `message_length` exceeds the bytes left for it (PW-FRAME-005).
    MessageTooLong { message_length: u32, available: u32 },
    /// The trailing CRC-32C does not match (PW-FRAME-004).
    ChecksumMismatch { stored: u32, computed: u32 },
    /// The frame to encode cannot be represented (sizes past u32).
    TooLargeToEncode(u64),
}

impl FrameError {
    /// The stable code this error maps to.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::HeaderTooSmall(_)
            | FrameError::ReservedFlags(_)
            | FrameError::LengthTooSmall { .. }
            | FrameError::MessageTooLong { .. } => ErrorCode::MalformedFrame,
            FrameError::ChecksumMismatch { .. } => ErrorCode::ChecksumMismatch,
            FrameError::TooLargeToEncode(_) => ErrorCode::InvalidArgument,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::HeaderTooSmall(hs) => write!(f, "header_size {hs} is below 16 (PW-FRAME-002)"),
            FrameError::ReservedFlags(flags) => write!(f, "reserved flag bits set in 0x{flags:02x} (PW-FRAME-003)"),
            FrameError::LengthTooSmall { length, header_size } => {
                write!(f, "length {length} is too small for header_size {header_size} (PW-FRAME-005)")
            }
            FrameError::MessageTooLong { message_length, available } => {
                write!(f, "message_length {message_length} exceeds the {available} bytes available (PW-FRAME-005)")
            }
            FrameError::ChecksumMismatch { stored, computed } => {
                write!(f, "frame checksum 0x{stored:08x} does not match computed 0x{computed:08x} (PW-FRAME-004)")
            }
            FrameError::TooLargeToEncode(size) => write!(f, "a frame of {size} bytes cannot be encoded"),
        }
    }
}

impl std::error::Error for FrameError {}

/// A decoded frame whose sections borrow the bytes it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRef<'a> {
    pub kind: u16,
    pub flags: u8,
    pub correlation_id: u32,
    pub message: &'a [u8],
    pub payload: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses one whole frame: `bytes` must be exactly `4 + length` long. Checks
/// the header in the PW-FRAME-015 order, then the checksum (PW-FRAME-004);
/// the frame size limit is the caller's concern.
pub fn parse_frame(bytes: &[u8]) -> Result<FrameRef<'_>, FrameError> {
    let header_size = bytes.get(4).copied().unwrap_or(HEADER_SIZE as u8);
    if bytes.len() < HEADER_SIZE {
        let length = if bytes.len() >= 4 { be32(bytes, 0) } else { 0 };
        return Err(FrameError::LengthTooSmall { length, header_size });
    }
    let length = be32(bytes, 0);
    if length < (HEADER_SIZE - 4) as u32 || 4 + u64::from(length) != bytes.len() as u64 {
        return Err(FrameError::LengthTooSmall { length, header_size });
    }
    if usize::from(header_size) < HEADER_SIZE {
        return Err(FrameError::HeaderTooSmall(header_size));
    }
    if u32::from(header_size) - 4 > length {
        return Err(FrameError::LengthTooSmall { length, header_size });
    }
    let flags = bytes[5];
    if flags & !FLAG_CHECKSUM != 0 {
        return Err(FrameError::ReservedFlags(flags));
    }
    let trailer = if flags & FLAG_CHECKSUM != 0 { CHECKSUM_SIZE } else { 0 };
    let end = bytes.len().checked_sub(trailer).filter(|&e| e >= usize::from(header_size));
    let end = end.ok_or(FrameError::LengthTooSmall { length, header_size })?;
    let message_length = be32(bytes, 12);
    let available = (end - usize::from(header_size)) as u32;
    if message_length > available {
        return Err(FrameError::MessageTooLong { message_length, available });
    }
    if trailer != 0 {
        let stored = be32(bytes, end);
        let computed = crate::crc32c(0, &bytes[..end]);
        if stored != computed {
            return Err(FrameError::ChecksumMismatch { stored, computed });
        }
    }
    let message_end = usize::from(header_size) + message_length as usize;
    Ok(FrameRef {
        kind: u16::from_be_bytes([bytes[6], bytes[7]]),
        flags,
        correlation_id: be32(bytes, 8),
        message: &bytes[usize::from(header_size)..message_end],
        payload: &bytes[message_end..end],
    })
}

/// Appends one v1 frame (header_size 16, PW-FRAME-001/002).
pub fn encode_frame(
    kind: u16,
    correlation_id: u32,
    message: &[u8],
    payload: &[u8],
    checksum: bool,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let trailer = if checksum { CHECKSUM_SIZE as u64 } else { 0 };
    let length = (HEADER_SIZE as u64 - 4) + message.len() as u64 + payload.len() as u64 + trailer;
    let length32 = u32::try_from(length).map_err(|_| FrameError::TooLargeToEncode(length + 4))?;
    let message_length = message.len() as u32;
    let start = out.len();
    out.reserve(4 + length32 as usize);
    out.extend_from_slice(&length32.to_be_bytes());
    out.push(HEADER_SIZE as u8);
    out.push(if checksum { FLAG_CHECKSUM } else { 0 });
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&correlation_id.to_be_bytes());
    out.extend_from_slice(&message_length.to_be_bytes());
    out.extend_from_slice(message);
    out.extend_from_slice(payload);
    if checksum {
        let crc = crate::crc32c(0, &out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    Ok(())
}


#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(kind: u16, corr: u32, message: &[u8], payload: &[u8], checksum: bool) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(kind, corr, message, payload, checksum, &mut out).unwrap();
        out
    }

    #[test]
    fn pw_frame_001_layout() {
        let f = frame(0x0203, 0x0a0b_0c0d, b"msg", b"pay", false);
        assert_eq!(&f[..16], &[0, 0, 0, 18, 16, 0, 2, 3, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 3]);
        assert_eq!(&f[16..], b"msgpay");
        let c = frame(1, 1, b"", b"", true);
        assert_eq!(c.len(), 20);
        assert_eq!(u32::from_be_bytes([c[16], c[17], c[18], c[19]]), crate::crc32c(0, &c[..16]));
    }

    #[test]
    fn pw_frame_002_003_005_header_checks() {
        let parse = |b: &[u8]| parse_frame(b).unwrap_err();
        assert!(matches!(parse(&[0, 0, 0, 12, 15, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]), FrameError::HeaderTooSmall(15)));
        assert!(matches!(parse(&[0, 0, 0, 12, 16, 2, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]), FrameError::ReservedFlags(2)));
        assert!(matches!(parse(&[0, 0, 0, 11, 16, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]), FrameError::LengthTooSmall { .. }));
        let mut long_header = vec![0, 0, 0, 12, 40, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(matches!(parse(&long_header), FrameError::LengthTooSmall { .. }));
        long_header[4] = 16;
        long_header[15] = 1;
        assert_eq!(parse(&long_header), FrameError::MessageTooLong { message_length: 1, available: 0 });
        // CHECKSUM announced without room for its 4 bytes.
        assert!(matches!(parse(&[0, 0, 0, 14, 16, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 7, 7]), FrameError::LengthTooSmall { .. }));
        // A length that disagrees with the bytes given.
        let mut f = frame(1, 1, b"m", b"p", false);
        f.push(0);
        assert!(matches!(parse(&f), FrameError::LengthTooSmall { .. }));
    }

    #[test]
    fn pw_frame_004_checksum_mismatch() {
        let mut f = frame(1, 1, b"m", b"p", true);
        assert_eq!(parse_frame(&f).unwrap().payload, b"p");
        f[17] ^= 1;
        assert!(matches!(parse_frame(&f), Err(FrameError::ChecksumMismatch { .. })));
        assert_eq!(FrameError::ChecksumMismatch { stored: 0, computed: 1 }.code(), ErrorCode::ChecksumMismatch);
    }

    proptest! {
        #[test]
        fn pw_frame_001_encode_then_parse_round_trips(kind in any::<u16>(), corr in any::<u32>(), m in proptest::collection::vec(any::<u8>(), 0..40), p in proptest::collection::vec(any::<u8>(), 0..200), checksum in any::<bool>()) {
            let f = frame(kind, corr, &m, &p, checksum);
            let parsed = parse_frame(&f).unwrap();
            prop_assert_eq!(parsed, FrameRef { kind, flags: u8::from(checksum), correlation_id: corr, message: &m, payload: &p });
        }

        #[test]
        fn any_bytes_give_a_frame_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(f) = parse_frame(&bytes) {
                let trailer = if f.flags & FLAG_CHECKSUM != 0 { CHECKSUM_SIZE } else { 0 };
                prop_assert_eq!(usize::from(bytes[4]) + f.message.len() + f.payload.len() + trailer, bytes.len());
            }
        }
    }
}
