//! LZ4 (PW-COMP-003): one LZ4 block, through lz4_flex, which decodes every
//! block liblz4 (the reference library, behind the C, Python and Java
//! clients) decodes and a few more: an empty block other than the byte 00,
//! which `decompress` refuses too, and blocks that break the end-of-block
//! rules (PW-COMP-013), which `check_end_of_block` finds for a broker
//! (PW-COMP-014). Decoding does not look for those: the walk costs about a
//! third of the decompression, and a consumer may accept them.

use super::{check_len, corrupt, Codec, CompressionError};

/// The last match must start at least this many bytes before the end of the
/// block's output (the block format's MFLIMIT).
const MATCH_START_LIMIT: usize = 12;
/// The last bytes of the block's output are always literals (LASTLITERALS).
const LAST_LITERALS: usize = 5;
/// The shortest match; the token stores its length minus this.
const MIN_MATCH: usize = 4;

/// Appends `data` as one LZ4 block; lz4_flex follows the end-of-block rules.
pub fn compress(data: &[u8], out: &mut Vec<u8>) -> Result<(), CompressionError> {
    let start = out.len();
    out.resize(start + lz4_flex::block::get_maximum_output_size(data.len()), 0);
    let written = lz4_flex::block::compress_into(data, &mut out[start..]).map_err(|e| corrupt(Codec::Lz4, e))?;
    out.truncate(start + written);
    Ok(())
}

/// Decodes one block into `out` (capacity reserved by the caller), which
/// must come to exactly `expected` bytes.
pub fn decompress(data: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    // The block format writes empty input as the single byte 00, and liblz4
    // takes nothing else for it; lz4_flex also takes a lone token 01-0f.
    if expected == 0 && data != [0] {
        return Err(corrupt(Codec::Lz4, "an empty LZ4 block must be the single byte 00"));
    }
    out.resize(expected, 0);
    let n = lz4_flex::block::decompress_into(data, out).map_err(|e| corrupt(Codec::Lz4, e))?;
    check_len(Codec::Lz4, n, expected)
}

/// Reads the rest of a length whose 4-bit token part is `nibble`: 15 is
/// followed by bytes added to it up to the first that is not 255.
fn length(block: &[u8], pos: &mut usize, nibble: u8) -> Option<usize> {
    let mut n = usize::from(nibble);
    if n == 15 {
        loop {
            let byte = *block.get(*pos)?;
            *pos += 1;
            n = n.checked_add(usize::from(byte))?;
            if byte != 255 {
                break;
            }
        }
    }
    Some(n)
}

/// The end-of-block rules of the LZ4 block format (PW-COMP-013), for a block
/// that decoded to `size` bytes: its last match starts at least 12 bytes and
/// ends at least 5 bytes before the end of the output. Matches come in output
/// order, so checking the last one checks them all; finding it takes a walk
/// over the sequences that reads tokens and lengths, never the literals.
pub fn check_end_of_block(block: &[u8], size: usize) -> Result<(), CompressionError> {
    let broken = || corrupt(Codec::Lz4, "the block's sequences run past its end");
    let mut pos = 0usize;
    let mut out = 0usize;
    let mut last_match: Option<(usize, usize)> = None;
    loop {
        let token = *block.get(pos).ok_or_else(broken)?;
        pos += 1;
        let literals = length(block, &mut pos, token >> 4).ok_or_else(broken)?;
        pos = pos.checked_add(literals).ok_or_else(broken)?;
        out = out.checked_add(literals).ok_or_else(broken)?;
        if pos >= block.len() {
            break;
        }
        pos += 2;
        let matched = length(block, &mut pos, token & 15).ok_or_else(broken)? + MIN_MATCH;
        last_match = Some((out, out + matched));
        out += matched;
    }
    match last_match {
        Some((start, end)) if start + MATCH_START_LIMIT > size || end + LAST_LITERALS > size => Err(corrupt(
            Codec::Lz4,
            format!(
                "the last match covers output bytes {start}..{end} of {size}: it must start at least {MATCH_START_LIMIT} and end at least {LAST_LITERALS} bytes before the end (PW-COMP-013)"
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    fn decode(block: &[u8], size: usize) -> Result<Vec<u8>, CompressionError> {
        let mut out = Vec::new();
        decompress(block, size, &mut out).map(|()| out)
    }

    #[test]
    fn pw_comp_011_match_offset_zero_is_corrupt() {
        // RUSTSEC-2026-0041: lz4_flex before 0.11.6 decoded this block "successfully",
        // copying 17 bytes of stale memory where the match points at itself.
        let block = b"\x1d\x20\x00\x00\xf0\x13GNU LIBRARY GENERAL PUBLIC LICENSE";
        assert_eq!(decode(block, 52).unwrap_err().code(), ErrorCode::CorruptBatch);
    }

    #[test]
    fn empty_block_is_only_the_byte_00() {
        assert_eq!(decode(&[0], 0).unwrap(), Vec::<u8>::new());
        for block in [&[0x01u8][..], &[0x0f], &[0, 0], &[]] {
            assert_eq!(decode(block, 0).unwrap_err().code(), ErrorCode::CorruptBatch, "{block:?}");
        }
        let mut packed = Vec::new();
        compress(&[], &mut packed).unwrap();
        assert_eq!(packed, [0]);
    }

    // 4 literals "abcd", then a match at offset 4, then `tail` literals: the
    // match covers output 4..4+length.
    fn block(match_extra: u8, tail: &[u8]) -> Vec<u8> {
        let mut b = vec![0x40 | match_extra, b'a', b'b', b'c', b'd', 4, 0];
        b.push((tail.len() as u8) << 4);
        b.extend_from_slice(tail);
        b
    }

    #[test]
    fn pw_comp_013_end_of_block_rules() {
        // A 4-byte match at 4..8 then 5 literals: 13 bytes, the match starts 9 before the end.
        let short = block(0, b"efghi");
        assert_eq!(decode(&short, 13).unwrap(), b"abcdabcdefghi", "decoders may accept it (PW-COMP-014)");
        let e = check_end_of_block(&short, 13).unwrap_err();
        assert_eq!(e.code(), ErrorCode::CorruptBatch);
        assert!(e.to_string().contains("PW-COMP-013"), "{e}");
        // The same with 8 literals after the match: starts 12 before the end.
        let ok = block(0, b"efghijkl");
        assert_eq!(decode(&ok, 16).unwrap(), b"abcdabcdefghijkl");
        check_end_of_block(&ok, 16).unwrap();
        // A match ending 4 bytes before the end breaks LASTLITERALS.
        let late = block(8, b"wxyz");
        assert_eq!(decode(&late, 20).unwrap().len(), 20);
        assert!(check_end_of_block(&late, 20).is_err());
        let mut padded = block(8, b"vwxyz");
        check_end_of_block(&padded, 21).unwrap();
        // A block ending on a match has no final literals at all.
        padded.truncate(7);
        assert_eq!(check_end_of_block(&padded, 16).unwrap_err().code(), ErrorCode::CorruptBatch);
        assert_eq!(check_end_of_block(&[0], 0), Ok(()));
    }

    proptest! {
        #[test]
        fn pw_comp_013_our_blocks_follow_the_end_of_block_rules(data in proptest::collection::vec(0u8..4, 0..3000), text in "(abc|de|[a-z]){0,400}") {
            for input in [&data[..], text.as_bytes()] {
                let mut packed = Vec::new();
                compress(input, &mut packed).unwrap();
                check_end_of_block(&packed, input.len()).unwrap();
                prop_assert_eq!(decode(&packed, input.len()).unwrap(), input.to_vec());
            }
        }
    }
}
