//! Any bytes give a frame or a FrameError, never a panic; a frame with the
//! v1 header size re-encodes to the same bytes. (The incremental decoder
//! that cuts a stream into frames is JavaScript: test/frame.test.ts and the
//! broker's frame fuzz cover it.)
#![no_main]
use libfuzzer_sys::fuzz_target;
use polywire_codec::frame::{encode_frame, parse_frame, FLAG_CHECKSUM, HEADER_SIZE};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(f) = parse_frame(bytes) {
        if usize::from(bytes[4]) == HEADER_SIZE {
            let mut again = Vec::new();
            encode_frame(f.kind, f.correlation_id, f.message, f.payload, f.flags & FLAG_CHECKSUM != 0, &mut again).unwrap();
            assert_eq!(again, bytes);
        }
    }
});
