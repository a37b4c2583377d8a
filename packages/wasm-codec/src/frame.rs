//! Frames (spec §2): the fixed 16-byte header, an encoder and an incremental
//! decoder that accepts arbitrary chunk boundaries and enforces the maximum
//! frame size as soon as the `length` field has arrived (PW-FRAME-006).

use crate::error::ErrorCode;
use std::fmt;

/// Bytes of the v1 frame header, `length` included.
pub const HEADER_SIZE: usize = 16;
/// Flag bit 0: the frame ends with a CRC-32C of everything before it.
pub const FLAG_CHECKSUM: u8 = 1;
/// Default maximum total frame size (PW-FRAME-007).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16 * 1024 * 1024;

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
    /// `4 + length` exceeds the maximum frame size (PW-FRAME-006).
    TooLarge { size: u64, max: u64 },
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
            FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
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
            FrameError::TooLarge { size, max } => {
                write!(f, "frame of {size} bytes exceeds the maximum frame size of {max} (PW-FRAME-006)")
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

/// Validates every header field present in `bytes` (a frame's first bytes)
/// and returns the frame's total size once the `length` field is there.
fn check_prefix(bytes: &[u8], max: u64) -> Result<Option<usize>, FrameError> {
    if bytes.len() < 4 {
        return Ok(None);
    }
    let length = be32(bytes, 0);
    let total = 4 + u64::from(length);
    if total > max {
        return Err(FrameError::TooLarge { size: total, max });
    }
    if length < (HEADER_SIZE - 4) as u32 {
        return Err(FrameError::LengthTooSmall { length, header_size: bytes.get(4).copied().unwrap_or(HEADER_SIZE as u8) });
    }
    if let Some(&header_size) = bytes.get(4) {
        if usize::from(header_size) < HEADER_SIZE {
            return Err(FrameError::HeaderTooSmall(header_size));
        }
        if u32::from(header_size) - 4 > length {
            return Err(FrameError::LengthTooSmall { length, header_size });
        }
        if let Some(&flags) = bytes.get(5) {
            if flags & !FLAG_CHECKSUM != 0 {
                return Err(FrameError::ReservedFlags(flags));
            }
            if bytes.len() >= HEADER_SIZE {
                let trailer = if flags & FLAG_CHECKSUM != 0 { 4 } else { 0 };
                let after_header = length - (u32::from(header_size) - 4);
                let available = after_header
                    .checked_sub(trailer)
                    .ok_or(FrameError::LengthTooSmall { length, header_size })?;
                let message_length = be32(bytes, 12);
                if message_length > available {
                    return Err(FrameError::MessageTooLong { message_length, available });
                }
            }
        }
    }
    // total <= max <= u32::MAX + 4 and usize is at least 32 bits wide on every
    // target this crate builds for; try_from keeps that assumption checked.
    usize::try_from(total).map(Some).map_err(|_| FrameError::TooLarge { size: total, max })
}

/// Parses one whole frame: `bytes` must be exactly `4 + length` long, as the
/// decoder guarantees. The frame size limit is the caller's concern.
pub fn parse_frame(bytes: &[u8]) -> Result<FrameRef<'_>, FrameError> {
    let total = check_prefix(bytes, u64::MAX)?;
    if total != Some(bytes.len()) || bytes.len() < HEADER_SIZE {
        let length = if bytes.len() >= 4 { be32(bytes, 0) } else { 0 };
        return Err(FrameError::LengthTooSmall { length, header_size: bytes.get(4).copied().unwrap_or(0) });
    }
    let header_size = usize::from(bytes[4]);
    let flags = bytes[5];
    let mut end = bytes.len();
    if flags & FLAG_CHECKSUM != 0 {
        end -= 4;
        let stored = be32(bytes, end);
        let computed = crate::crc32c(0, &bytes[..end]);
        if stored != computed {
            return Err(FrameError::ChecksumMismatch { stored, computed });
        }
    }
    // check_prefix proved header_size + message_length <= end.
    let message_end = header_size + be32(bytes, 12) as usize;
    Ok(FrameRef {
        kind: u16::from_be_bytes([bytes[6], bytes[7]]),
        flags,
        correlation_id: be32(bytes, 8),
        message: &bytes[header_size..message_end],
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
    let trailer = if checksum { 4 } else { 0 };
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

/// Splits a byte stream into frames whatever the chunking. Holds at most one
/// partial frame, and never more than the maximum frame size of it.
#[derive(Debug)]
pub struct FrameDecoder {
    max: u64,
    carry: Vec<u8>,
    // The last frame completed from `carry`, kept so frames borrowed from it
    // stay valid while the rest of the chunk is carried over.
    completed: Vec<u8>,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder rejecting frames whose total size exceeds `max_frame_size`.
    pub fn new(max_frame_size: u32) -> FrameDecoder {
        FrameDecoder { max: u64::from(max_frame_size), carry: Vec::new(), completed: Vec::new(), failed: None }
    }

    /// Bytes held waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.carry.len()
    }

    /// Feeds `chunk`, calling `emit` for each frame it completes, in order.
    /// After an error the stream has lost sync (PW-FRAME-013): every later
    /// call returns the same error.
    pub fn push(&mut self, chunk: &[u8], mut emit: impl FnMut(FrameRef<'_>)) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.push_inner(chunk, &mut emit);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            self.carry = Vec::new();
            self.completed = Vec::new();
        }
        result
    }

    /// Makes room for a whole frame of `total` bytes in `carry`; a frame the
    /// allocator cannot hold is too large for this receiver, not a trap.
    fn reserve(&mut self, total: usize) -> Result<(), FrameError> {
        let additional = total.saturating_sub(self.carry.len());
        self.carry
            .try_reserve_exact(additional)
            .map_err(|_| FrameError::TooLarge { size: total as u64, max: self.carry.capacity() as u64 })
    }

    fn push_inner(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(FrameRef<'_>)) -> Result<(), FrameError> {
        self.completed.clear();
        while !self.carry.is_empty() {
            let total = check_prefix(&self.carry, self.max)?;
            let target = match total {
                Some(t) => {
                    self.reserve(t)?;
                    t
                }
                None => 4,
            };
            let take = (target - self.carry.len()).min(chunk.len());
            self.carry.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.carry.len() < target {
                // Validate whatever header fields just arrived, then wait.
                check_prefix(&self.carry, self.max)?;
                return Ok(());
            }
            if total.is_some() {
                std::mem::swap(&mut self.carry, &mut self.completed);
                self.carry.clear();
                emit(parse_frame(&self.completed)?);
            }
        }
        let mut pos = 0;
        loop {
            let rest = &chunk[pos..];
            match check_prefix(rest, self.max)? {
                Some(total) if rest.len() >= total => {
                    emit(parse_frame(&rest[..total])?);
                    pos += total;
                }
                Some(total) => {
                    self.reserve(total)?;
                    self.carry.extend_from_slice(rest);
                    return Ok(());
                }
                None => {
                    self.carry.extend_from_slice(rest);
                    return Ok(());
                }
            }
        }
    }
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

    type Decoded = (u16, u8, u32, Vec<u8>, Vec<u8>);

    fn decode_all(d: &mut FrameDecoder, chunk: &[u8]) -> Result<Vec<Decoded>, FrameError> {
        let mut out = Vec::new();
        d.push(chunk, |f| out.push((f.kind, f.flags, f.correlation_id, f.message.to_vec(), f.payload.to_vec())))?;
        Ok(out)
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
    fn pw_frame_006_rejects_oversize_on_length_alone() {
        let mut d = FrameDecoder::new(100);
        assert_eq!(decode_all(&mut d, &[0, 0, 0]).unwrap(), vec![]);
        assert_eq!(decode_all(&mut d, &[97]), Err(FrameError::TooLarge { size: 101, max: 100 }));
        assert_eq!(d.buffered(), 0);
        assert_eq!(decode_all(&mut d, &[]), Err(FrameError::TooLarge { size: 101, max: 100 }));
    }

    // Regression found by the frame_decoder fuzz target: with a maximum below
    // 4, up to 3 bytes of the length field are still held, then rejected.
    #[test]
    fn pw_frame_006_tiny_maximum_holds_only_the_length_prefix() {
        let mut d = FrameDecoder::new(0);
        assert_eq!(decode_all(&mut d, &[0xf2]).unwrap(), vec![]);
        assert_eq!(d.buffered(), 1);
        assert!(matches!(decode_all(&mut d, &[0, 0, 0]), Err(FrameError::TooLarge { max: 0, .. })));
    }

    #[test]
    fn pw_frame_002_003_005_header_checks_fire_early() {
        let mut d = FrameDecoder::new(1 << 20);
        assert!(matches!(decode_all(&mut d, &[0, 0, 0, 100, 15]), Err(FrameError::HeaderTooSmall(15))));
        let mut d = FrameDecoder::new(1 << 20);
        assert!(matches!(decode_all(&mut d, &[0, 0, 0, 100, 16, 2]), Err(FrameError::ReservedFlags(2))));
        let mut d = FrameDecoder::new(1 << 20);
        assert!(matches!(decode_all(&mut d, &[0, 0, 0, 11]), Err(FrameError::LengthTooSmall { .. })));
        let mut d = FrameDecoder::new(1 << 20);
        assert!(matches!(decode_all(&mut d, &[0, 0, 0, 12, 40]), Err(FrameError::LengthTooSmall { .. })));
        let mut d = FrameDecoder::new(1 << 20);
        assert!(matches!(
            decode_all(&mut d, &[0, 0, 0, 14, 16, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3]),
            Err(FrameError::MessageTooLong { message_length: 3, available: 2 })
        ));
    }

    #[test]
    fn pw_frame_004_checksum_mismatch() {
        let mut f = frame(1, 1, b"m", b"p", true);
        f[17] ^= 1;
        let mut d = FrameDecoder::new(1 << 20);
        assert!(matches!(decode_all(&mut d, &f), Err(FrameError::ChecksumMismatch { .. })));
        assert_eq!(FrameError::ChecksumMismatch { stored: 0, computed: 1 }.code(), ErrorCode::ChecksumMismatch);
    }

    proptest! {
        #[test]
        fn pw_frame_001_any_chunking_gives_the_same_frames(
            frames in proptest::collection::vec((any::<u16>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..40), proptest::collection::vec(any::<u8>(), 0..200), any::<bool>()), 1..6),
            cuts in proptest::collection::vec(1usize..50, 1..10),
        ) {
            let mut stream = Vec::new();
            for (k, c, m, p, cs) in &frames {
                encode_frame(*k, *c, m, p, *cs, &mut stream).unwrap();
            }
            let expected: Vec<_> = frames.iter().map(|(k, c, m, p, cs)| (*k, u8::from(*cs), *c, m.clone(), p.clone())).collect();
            let mut whole = FrameDecoder::new(u32::MAX);
            prop_assert_eq!(decode_all(&mut whole, &stream).unwrap(), expected.clone());
            let mut d = FrameDecoder::new(u32::MAX);
            let mut got = Vec::new();
            let mut pos = 0;
            let mut i = 0;
            while pos < stream.len() {
                let end = (pos + cuts[i % cuts.len()]).min(stream.len());
                got.extend(decode_all(&mut d, &stream[pos..end]).unwrap());
                pos = end;
                i += 1;
            }
            prop_assert_eq!(got, expected);
            prop_assert_eq!(d.buffered(), 0);
        }

        #[test]
        fn any_bytes_give_frames_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300), max in (HEADER_SIZE as u32)..400) {
            let mut d = FrameDecoder::new(max);
            if let Ok(frames) = decode_all(&mut d, &bytes) {
                let used: usize = frames.iter().map(|f| 16 + f.3.len() + f.4.len() + if f.1 == 1 { 4 } else { 0 }).sum();
                prop_assert!(used + d.buffered() <= bytes.len());
                prop_assert!(d.buffered() <= max as usize);
            }
        }
    }
}
