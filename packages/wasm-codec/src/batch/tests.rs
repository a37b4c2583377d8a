//! Tests of the batch encoder and decoder (spec §5).

use super::*;
use proptest::prelude::*;

fn record(i: i64) -> Record {
    Record {
        timestamp: 1_700_000_000_000 + i,
        type_id: i % 4,
        key: if i % 3 == 0 { None } else { Some(format!("k{i}").into_bytes()) },
        value: Some(format!("{{\"i\":{i},\"msg\":\"request handled\"}}").into_bytes()),
        headers: vec![("h".into(), Some(b"v".to_vec())), ("h".into(), None)],
    }
}

fn encoded(records: &[Record], codec: Codec) -> Vec<u8> {
    let mut out = Vec::new();
    encode(records, &EncodeOptions { codec, min_compress_size: 0, ..EncodeOptions::default() }, &mut out).unwrap();
    out
}

fn resign(batch: &mut [u8]) {
    let crc = compute_crc(batch);
    batch[13..17].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn pw_batch_003_crc_excludes_base_offset() {
    let mut b = encoded(&[record(1), record(2)], Codec::Lz4);
    b[..8].copy_from_slice(&99i64.to_be_bytes());
    let mut scratch = Vec::new();
    assert_eq!(verify(&b, DEFAULT_MAX_UNCOMPRESSED, &mut scratch).unwrap().base_offset, 99);
    b[20] ^= 1;
    assert!(matches!(verify(&b, DEFAULT_MAX_UNCOMPRESSED, &mut scratch), Err(BatchError::Crc { .. })));
}

#[test]
fn pw_batch_validation_codes() {
    let good = encoded(&[record(1), record(2)], Codec::None);
    let mut scratch = Vec::new();
    let mut check = |edit: &dyn Fn(&mut Vec<u8>), code: ErrorCode| {
        let mut b = good.clone();
        edit(&mut b);
        resign(&mut b);
        assert_eq!(verify(&b, DEFAULT_MAX_UNCOMPRESSED, &mut scratch).unwrap_err().code(), code);
    };
    check(&|b| b[12] = 0, ErrorCode::CorruptBatch);
    check(&|b| b[18] = 5, ErrorCode::UnsupportedCodec);
    check(&|b| b[17] = 1, ErrorCode::CorruptBatch);
    check(&|b| b[19..23].copy_from_slice(&0u32.to_be_bytes()), ErrorCode::CorruptBatch);
    check(&|b| b[19..23].copy_from_slice(&3u32.to_be_bytes()), ErrorCode::CorruptBatch);
    check(&|b| b[31..39].copy_from_slice(&0i64.to_be_bytes()), ErrorCode::CorruptBatch);
    check(&|b| b[39..47].copy_from_slice(&7i64.to_be_bytes()), ErrorCode::CorruptBatch);
    check(&|b| b[53..57].copy_from_slice(&1u32.to_be_bytes()), ErrorCode::CorruptBatch);
    check(&|b| b.truncate(b.len() - 1), ErrorCode::CorruptBatch);
    let big = encoded(&(0..100).map(record).collect::<Vec<_>>(), Codec::Zstd);
    let size = BatchHeader::parse(&big).unwrap().uncompressed_size as usize;
    assert_eq!(verify(&big, size - 1, &mut scratch).unwrap_err().code(), ErrorCode::DecompressionLimit);
}

// An LZ4 block whose last match starts 9 bytes before the end decodes, but
// liblz4 refuses it: a broker must not store it (PW-COMP-013/014).
#[test]
fn pw_comp_014_verify_refuses_an_lz4_block_breaking_the_end_of_block_rules() {
    let value = b"abcdabcdabcdabcdabcdabcd";
    let r = Record { timestamp: 5, type_id: 0, key: None, value: Some(value.to_vec()), headers: vec![] };
    let plain = encoded(std::slice::from_ref(&r), Codec::None);
    let section = &plain[HEADER_SIZE..];
    // Literals up to the value's second "abcd", one match to 4 bytes before
    // the end, then 4 literals: a valid block a conforming encoder never writes.
    // The section ends with the value and a header count of 0.
    let split = section.len() - 1 - value.len() + 4;
    let tail = 4;
    let matched = section.len() - split - tail;
    assert!(split < 15 && matched - 4 < 15, "short lengths fit the token");
    let mut block = vec![(split << 4 | (matched - 4)) as u8];
    block.extend_from_slice(&section[..split]);
    block.extend_from_slice(&[4, 0, (tail << 4) as u8]);
    block.extend_from_slice(&section[section.len() - tail..]);
    let mut b = plain[..HEADER_SIZE].to_vec();
    b.extend_from_slice(&block);
    b[17..19].copy_from_slice(&(Codec::Lz4 as u16).to_be_bytes());
    let length = (b.len() - 12) as u32;
    b[8..12].copy_from_slice(&length.to_be_bytes());
    resign(&mut b);
    assert_eq!(decode(&b, 1 << 20, true).unwrap().1, vec![r]);
    let e = verify(&b, 1 << 20, &mut Vec::new()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::CorruptBatch);
    assert!(e.to_string().contains("PW-COMP-013"), "{e}");
}

#[test]
fn pw_comp_007_stores_uncompressed_when_small_or_incompressible() {
    let records: Vec<Record> = (0..50).map(record).collect();
    let mut out = Vec::new();
    encode(&records, &EncodeOptions { codec: Codec::Snappy, min_compress_size: 1 << 20, ..EncodeOptions::default() }, &mut out).unwrap();
    assert_eq!(BatchHeader::parse(&out).unwrap().codec().unwrap(), Codec::None);
    let noise: Vec<u8> = (0u32..3000).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ (i as u8).rotate_left(3)).collect();
    let r = Record { timestamp: 0, type_id: 0, key: None, value: Some(noise), headers: vec![] };
    for codec in Codec::ALL {
        let b = encoded(std::slice::from_ref(&r), codec);
        let h = BatchHeader::parse(&b).unwrap();
        assert!(h.codec().unwrap() == Codec::None || (b.len() - HEADER_SIZE) < h.uncompressed_size as usize);
    }
}

#[test]
fn encode_rejects_bad_input() {
    let mut out = vec![1, 2, 3];
    assert_eq!(encode(&[], &EncodeOptions::default(), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(out, vec![1, 2, 3], "a failed encode leaves the output as it was");
    let mut r = record(1);
    r.type_id = -1;
    assert_eq!(encode(&[r.clone()], &EncodeOptions::default(), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
    r.type_id = MAX_TYPE_ID + 1;
    assert_eq!(encode(&[r], &EncodeOptions::default(), &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
    let opts = EncodeOptions { producer_id: 1, ..EncodeOptions::default() };
    assert_eq!(encode(&[record(1)], &opts, &mut out).unwrap_err().code(), ErrorCode::InvalidArgument);
}

fn record_strategy() -> impl Strategy<Value = Record> {
    (
        -(1i64 << 50)..(1i64 << 50),
        0i64..=MAX_TYPE_ID,
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..30)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        proptest::collection::vec((".{0,8}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10))), 0..4),
    )
        .prop_map(|(timestamp, type_id, key, value, headers)| Record { timestamp, type_id, key, value, headers })
}

proptest! {
    #[test]
    fn every_batch_shape_round_trips(records in proptest::collection::vec(record_strategy(), 1..30), codec_id in 0u8..5, base in 0i64..i64::MAX / 2) {
        let codec = Codec::from_id(codec_id).unwrap();
        let mut out = Vec::new();
        encode(&records, &EncodeOptions { codec, min_compress_size: 0, base_offset: base, ..EncodeOptions::default() }, &mut out).unwrap();
        let (header, decoded) = decode(&out, DEFAULT_MAX_UNCOMPRESSED, true).unwrap();
        prop_assert_eq!(header.base_offset, base);
        prop_assert_eq!(header.record_count as usize, records.len());
        prop_assert_eq!(header.max_timestamp, records.iter().map(|r| r.timestamp).max().unwrap());
        prop_assert_eq!(decoded, records);
    }

    #[test]
    fn any_bytes_decode_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut scratch = Vec::new();
        let _ = verify(&bytes, 1 << 16, &mut scratch);
        let _ = decode(&bytes, 1 << 16, false);
    }

    #[test]
    fn mutated_batches_decode_or_fail(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), codec_id in 0u8..5, fix_crc in any::<bool>()) {
        let mut b = encoded(&(0..20).map(record).collect::<Vec<_>>(), Codec::from_id(codec_id).unwrap());
        for (at, byte) in edits {
            let i = at.index(b.len());
            b[i] = byte;
        }
        if fix_crc {
            resign(&mut b);
        }
        if let Ok((header, records)) = decode(&b, 1 << 20, true) {
            prop_assert_eq!(header.record_count as usize, records.len());
        }
    }
}
