//! gzip (PW-COMP-001): one RFC 1952 member. Compression goes through flate2;
//! decompression parses the member framing here and inflates straight into
//! the caller's exact-size buffer with miniz_oxide's core decoder, which
//! avoids the streaming decoder's 32 KiB window copies.

use crate::compression::{Codec, CompressionError};
use miniz_oxide::inflate::core::{decompress as inflate, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use std::io::Write;

/// zlib's default level.
pub const DEFAULT_LEVEL: i32 = 6;

const FTEXT_FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED_FLAGS: u8 = 0xe0;

fn corrupt(reason: impl std::fmt::Display) -> CompressionError {
    CompressionError::Corrupt { codec: Codec::Gzip, reason: reason.to_string() }
}

/// Appends one gzip member holding `data` at `level` (0-9).
pub fn compress(data: &[u8], level: i32, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    if !(0..=9).contains(&level) {
        return Err(CompressionError::InvalidLevel { codec: Codec::Gzip, level });
    }
    // mtime 0 and the "unknown" OS byte keep the output a pure function of the input.
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, flate2::Compression::new(level as u32));
    // Writing into a Vec cannot fail; the mapping only keeps unwrap out.
    encoder.write_all(data).map_err(corrupt)?;
    encoder.finish().map_err(corrupt)?;
    Ok(())
}

/// Skips a zero-terminated header field starting at `pos`.
fn skip_zero_terminated(data: &[u8], pos: usize, what: &str) -> Result<usize, CompressionError> {
    let rest = data.get(pos..).unwrap_or(&[]);
    let end = rest.iter().position(|&b| b == 0).ok_or_else(|| corrupt(format!("unterminated {what}")))?;
    Ok(pos + end + 1)
}

/// Length of the member header (RFC 1952 §2.3), checking its fixed fields.
fn header_len(data: &[u8]) -> Result<usize, CompressionError> {
    if data.len() < 10 || data[0] != 0x1f || data[1] != 0x8b {
        return Err(corrupt("not a gzip member (bad magic)"));
    }
    if data[2] != 8 {
        return Err(corrupt(format!("compression method {} is not deflate", data[2])));
    }
    let flags = data[3];
    if flags & RESERVED_FLAGS != 0 {
        return Err(corrupt(format!("reserved header flags 0x{flags:02x}")));
    }
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = data.get(pos..pos + 2).ok_or_else(|| corrupt("truncated FEXTRA"))?;
        pos += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    if flags & FNAME != 0 {
        pos = skip_zero_terminated(data, pos, "FNAME")?;
    }
    if flags & FCOMMENT != 0 {
        pos = skip_zero_terminated(data, pos, "FCOMMENT")?;
    }
    if flags & FTEXT_FHCRC != 0 {
        let stored = data.get(pos..pos + 2).ok_or_else(|| corrupt("truncated FHCRC"))?;
        let computed = crc32fast::hash(&data[..pos]) as u16;
        if u16::from_le_bytes([stored[0], stored[1]]) != computed {
            return Err(corrupt("header CRC16 mismatch"));
        }
        pos += 2;
    }
    if pos > data.len() {
        return Err(corrupt("header runs past the data"));
    }
    Ok(pos)
}

/// Decodes the single member in `data` into `out`, which it must fill exactly
/// (PW-COMP-005); checks the member's CRC-32 and ISIZE and that nothing follows.
pub fn decompress(data: &[u8], out: &mut [u8]) -> Result<(), CompressionError> {
    let start = header_len(data)?;
    let mut state = Box::<DecompressorOxide>::default();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, consumed, written) = inflate(&mut state, &data[start..], out, 0, flags);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => return Err(corrupt(format!("more than the {} bytes declared", out.len()))),
        other => return Err(corrupt(format!("invalid deflate data ({other:?})"))),
    }
    if written != out.len() {
        return Err(corrupt(format!("decoded {written} bytes, {} declared", out.len())));
    }
    let trailer = start + consumed;
    let tail = data.get(trailer..trailer + 8).ok_or_else(|| corrupt("truncated trailer"))?;
    let crc = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let isize = u32::from_le_bytes([tail[4], tail[5], tail[6], tail[7]]);
    if crc != crc32fast::hash(out) {
        return Err(corrupt("CRC-32 mismatch"));
    }
    if isize != out.len() as u32 {
        return Err(corrupt(format!("ISIZE {isize} does not match {} decoded bytes", out.len())));
    }
    if trailer + 8 != data.len() {
        return Err(corrupt("bytes after the gzip member (PW-COMP-001 allows one member)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        compress(data, 6, &mut out).unwrap();
        out
    }

    #[test]
    fn pw_comp_001_accepts_optional_header_fields() {
        let data = b"hello polywire hello polywire".repeat(20);
        let mut with_fields = Vec::new();
        let mut e = flate2::GzBuilder::new()
            .filename("records.json")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4])
            .write(&mut with_fields, flate2::Compression::new(9));
        e.write_all(&data).unwrap();
        e.finish().unwrap();
        let mut out = vec![0; data.len()];
        decompress(&with_fields, &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn pw_comp_001_rejects_broken_members() {
        let data = b"abcdefgh".repeat(100);
        let good = member(&data);
        let mut out = vec![0; data.len()];
        let mut check = |bytes: &[u8]| decompress(bytes, &mut out).unwrap_err().code();
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        let mut bad_size = good.clone();
        bad_size[n - 4] ^= 1;
        let mut reserved = good.clone();
        reserved[3] = 0x20;
        let mut two = good.clone();
        two.extend_from_slice(&good);
        for bytes in [&bad_crc[..], &bad_size[..], &reserved[..], &two[..], &good[..n - 1], &good[..5], b"not gzip at all"] {
            assert_eq!(check(bytes), crate::ErrorCode::CorruptBatch);
        }
    }
}
