//! Any bytes and declared size: exactly that many bytes out, or an error;
//! never a panic, never more memory than the declared size. The broker's
//! end-of-block check (PW-COMP-014) takes any bytes without a panic too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polywire_codec::compression::{check_storable, decompress, Codec};

fuzz_target!(|input: &[u8]| {
    let (size, data) = input.split_at(input.len().min(2));
    let expected = size.iter().fold(0usize, |n, &b| n << 8 | usize::from(b)) * 4;
    let mut out = Vec::new();
    if decompress(Codec::Lz4, data, expected, 1 << 20, &mut out).is_ok() {
        assert_eq!(out.len(), expected);
    }
    let _ = check_storable(Codec::Lz4, data, expected);
});
