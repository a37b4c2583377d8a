//! The spec's partition hash (PW-PART-002): Kafka's `Utils.murmur2`.

const SEED: u32 = 0x9747_b28c;
const M: u32 = 0x5bd1_e995;
const R: u32 = 24;

/// 32-bit MurmurHash2 of `data` with Kafka's seed, as Kafka's signed int.
pub fn murmur2(data: &[u8]) -> i32 {
    // Kafka mixes the length in as a Java int: lengths past 2^31 wrap the same way.
    let mut h = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Partition for a non-null key: `(murmur2 & 0x7fffffff) % partitions`.
/// `None` when `partitions` is 0.
pub fn partition_for_key(key: &[u8], partitions: u32) -> Option<u32> {
    if partitions == 0 {
        return None;
    }
    Some(((murmur2(key) & 0x7fff_ffff) as u32) % partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are those of Kafka's own UtilsTest.testMurmur2.
    #[test]
    fn pw_part_002_matches_kafka_utils_murmur2() {
        for (key, expected) in [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ] {
            assert_eq!(murmur2(key.as_bytes()), expected, "{key}");
        }
    }

    #[test]
    fn pw_part_002_partition_is_masked_modulo() {
        assert_eq!(partition_for_key(b"foobar", 0), None);
        let h = murmur2(b"foobar");
        assert_eq!(partition_for_key(b"foobar", 7), Some(((h & 0x7fff_ffff) as u32) % 7));
        assert_eq!(partition_for_key(b"anything", 1), Some(0));
    }
}
