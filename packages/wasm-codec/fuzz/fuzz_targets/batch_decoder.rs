//! Any bytes as a batch: a header and records, or a BatchError; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polywire_codec::batch;

fuzz_target!(|data: &[u8]| {
    let mut scratch = Vec::new();
    let verified = batch::verify(data, 1 << 20, &mut scratch);
    // Without the CRC check the fuzzer reaches the record parser and decompressors.
    if let Ok((header, records)) = batch::decode(data, 1 << 20, false) {
        assert_eq!(header.record_count as usize, records.len());
    }
    if let Ok(header) = verified {
        assert!(header.record_count >= 1);
    }
});
