//! Any bytes, cut into any chunks, give frames or a FrameError; never a
//! panic, and one push gives the same frames as many.
#![no_main]
use libfuzzer_sys::fuzz_target;
use polywire_codec::frame::FrameDecoder;

fuzz_target!(|input: &[u8]| {
    let (control, stream) = input.split_at(input.len().min(3));
    let max = u32::from(*control.first().unwrap_or(&0)) * 16;
    let chunk = usize::from(*control.get(1).unwrap_or(&1)).max(1);
    let collect = |d: &mut FrameDecoder, bytes: &[u8], out: &mut Vec<(u16, u32, Vec<u8>, Vec<u8>)>| {
        d.push(bytes, |f| out.push((f.kind, f.correlation_id, f.message.to_vec(), f.payload.to_vec())))
    };
    let mut whole = Vec::new();
    let whole_result = collect(&mut FrameDecoder::new(max), stream, &mut whole);
    let mut chunked = Vec::new();
    let mut d = FrameDecoder::new(max);
    let mut chunked_result = Ok(());
    for piece in stream.chunks(chunk) {
        chunked_result = collect(&mut d, piece, &mut chunked);
        if chunked_result.is_err() {
            break;
        }
    }
    assert_eq!(whole_result.is_ok(), chunked_result.is_ok());
    if whole_result.is_ok() {
        assert_eq!(whole, chunked);
        // Up to 3 bytes of an incomplete length field are held whatever the maximum.
        assert!(d.buffered() <= (max as usize).max(3));
    }
});
