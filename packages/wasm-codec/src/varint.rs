//! Zigzag LEB128 varints (protobuf's `sint64`), at most 10 bytes (spec §0).

/// Longest encoding of a 64-bit varint.
pub const MAX_VARINT_LEN: usize = 10;

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Appends the zigzag varint encoding of `v`.
pub fn write(out: &mut Vec<u8>, v: i64) {
    let mut u = zigzag(v);
    while u >= 0x80 {
        out.push((u as u8) | 0x80);
        u >>= 7;
    }
    out.push(u as u8);
}

/// Number of bytes `write` appends for `v`.
pub fn encoded_len(v: i64) -> usize {
    let u = zigzag(v) | 1;
    // 64 - leading_zeros is the bit length; every 7 bits need a byte.
    ((64 - u.leading_zeros() as usize) + 6) / 7
}

/// Reads one varint at `*pos`, advancing it. `None` when the bytes end first,
/// when the encoding runs past 10 bytes, or when it overflows 64 bits.
pub fn read(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let mut result: u64 = 0;
    let start = *pos;
    for i in 0..MAX_VARINT_LEN {
        let b = *buf.get(start.checked_add(i)?)?;
        if i == MAX_VARINT_LEN - 1 && b > 1 {
            return None;
        }
        result |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *pos = start + i + 1;
            return Some(((result >> 1) as i64) ^ -((result & 1) as i64));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        for (v, bytes) in [
            (0i64, vec![0u8]),
            (-1, vec![1]),
            (1, vec![2]),
            (-64, vec![0x7f]),
            (64, vec![0x80, 0x01]),
            (i64::MAX, vec![0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            (i64::MIN, vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ] {
            let mut out = Vec::new();
            write(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(encoded_len(v), bytes.len());
            let mut pos = 0;
            assert_eq!(read(&out, &mut pos), Some(v));
            assert_eq!(pos, bytes.len());
        }
    }

    #[test]
    fn rejects_overlong_and_truncated() {
        let mut pos = 0;
        assert_eq!(read(&[0x80; 11], &mut pos), None);
        assert_eq!(read(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], &mut pos), None);
        assert_eq!(read(&[0x80, 0x80], &mut pos), None);
        assert_eq!(read(&[], &mut pos), None);
        assert_eq!(pos, 0);
    }

    proptest! {
        #[test]
        fn round_trips(v in any::<i64>()) {
            let mut out = Vec::new();
            write(&mut out, v);
            prop_assert_eq!(out.len(), encoded_len(v));
            let mut pos = 0;
            prop_assert_eq!(read(&out, &mut pos), Some(v));
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16), start in 0usize..20) {
            let mut pos = start;
            if read(&bytes, &mut pos).is_some() {
                prop_assert!(pos > start && pos <= bytes.len());
            } else {
                prop_assert_eq!(pos, start);
            }
        }
    }
}
