//! Zstandard (PW-COMP-004) through the reference C library (zstd-sys). The
//! contexts are created once per thread and reused: creating one per call
//! costs more than compressing a 4 KiB records section.
//!
//! Every `unsafe` block here is a call across the C FFI boundary.

use super::{check_len, Codec, CompressionError};
use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::CStr;
use zstd_sys as sys;

/// zstd's default level.
pub const DEFAULT_LEVEL: i32 = 3;

struct Contexts {
    cctx: *mut sys::ZSTD_CCtx,
    dctx: *mut sys::ZSTD_DCtx,
}

impl Drop for Contexts {
    fn drop(&mut self) {
        // SAFETY: both pointers came from ZSTD_create*Ctx, are non-null (checked
        // at creation) and are freed exactly once, here.
        unsafe {
            sys::ZSTD_freeCCtx(self.cctx);
            sys::ZSTD_freeDCtx(self.dctx);
        }
    }
}

thread_local! {
    static CONTEXTS: RefCell<Option<Contexts>> = const { RefCell::new(None) };
}

fn with_contexts<T>(f: impl FnOnce(&Contexts) -> T) -> T {
    CONTEXTS.with(|cell| {
        let mut slot = cell.borrow_mut();
        let ctx = slot.get_or_insert_with(|| {
            // SAFETY: plain constructors with no arguments; a null result is
            // an allocation failure, which the global allocator already
            // turns into an abort, so the pointers are valid here.
            unsafe {
                Contexts { cctx: sys::ZSTD_createCCtx(), dctx: sys::ZSTD_createDCtx() }
            }
        });
        f(ctx)
    })
}

fn is_error(code: usize) -> bool {
    // SAFETY: ZSTD_isError only inspects the integer.
    unsafe { sys::ZSTD_isError(code) != 0 }
}

fn error_name(code: usize) -> String {
    // SAFETY: ZSTD_getErrorName returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(sys::ZSTD_getErrorName(code)) }.to_string_lossy().into_owned()
}

/// The accepted level range, zstd's own.
pub fn level_range() -> std::ops::RangeInclusive<i32> {
    // SAFETY: argument-free queries of compile-time constants.
    unsafe { sys::ZSTD_minCLevel()..=sys::ZSTD_maxCLevel() }
}

/// Appends one zstd frame holding `data`, with its content size (PW-COMP-004)
/// and its content checksum: only the checksum makes every decoder reject a
/// corrupted frame instead of decoding it to its own bytes (PW-COMP-012).
pub fn compress(data: &[u8], level: Option<i32>, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    let level = level.unwrap_or(DEFAULT_LEVEL);
    if !level_range().contains(&level) {
        return Err(CompressionError::InvalidLevel { codec: Codec::Zstd, level });
    }
    // SAFETY: pure function of the length.
    let bound = unsafe { sys::ZSTD_compressBound(data.len()) };
    if is_error(bound) {
        return Err(CompressionError::InputTooLarge(data.len()));
    }
    let start = out.len();
    out.resize(start + bound, 0);
    let written = with_contexts(|ctx| {
        let dst = &mut out[start..];
        // SAFETY: cctx is valid; dst and data are live slices whose lengths are
        // passed alongside them, and dst has room for the bound zstd computed.
        // The parameters stick to the context; both are set on every call,
        // and each returns an error code like the compression itself.
        unsafe {
            let set = sys::ZSTD_CCtx_setParameter(ctx.cctx, sys::ZSTD_cParameter::ZSTD_c_compressionLevel, level);
            if is_error(set) {
                return set;
            }
            let set = sys::ZSTD_CCtx_setParameter(ctx.cctx, sys::ZSTD_cParameter::ZSTD_c_checksumFlag, 1);
            if is_error(set) {
                return set;
            }
            sys::ZSTD_compress2(ctx.cctx, dst.as_mut_ptr().cast(), dst.len(), data.as_ptr().cast(), data.len())
        }
    });
    if is_error(written) {
        out.truncate(start);
        return Err(CompressionError::Corrupt { codec: Codec::Zstd, reason: error_name(written) });
    }
    out.truncate(start + written);
    Ok(())
}

/// The Window_Descriptor exponent of Window_Log 31 (RFC 8878 §3.1.1.1.2:
/// Window_Log = 10 + Exponent, in the descriptor's top 5 bits).
const WINDOW_LOG_31_EXPONENT: u8 = 21;

/// PW-COMP-010: a frame declaring Window_Log 31 (up to 3.75 GiB with its
/// mantissa; the largest window zstd encoders write, e.g. a Java producer set
/// to windowLog 31) must decode. libzstd built for 32 bits, as here in WASM,
/// refuses any Window_Log above 30 while it parses the header, although
/// single-shot decoding never uses the window: it decodes into the
/// `expected`-sized buffer and checks every back-reference against the output
/// written so far. The only other use of the window, Block_Maximum_Size =
/// min(window, 128 KiB), is the same for Window_Log 30. So such a frame is
/// decoded from a copy whose descriptor says Window_Log 30, same mantissa.
/// A larger Window_Log stays refused, as 64-bit libzstd refuses it.
fn with_window_log_at_most_30(data: &[u8]) -> Result<Cow<'_, [u8]>, CompressionError> {
    const MAGIC: [u8; 4] = 0xFD2F_B528u32.to_le_bytes();
    const SINGLE_SEGMENT: u8 = 0x20;
    let declares_log_31 = data.len() > 5
        && data[..4] == MAGIC
        && data[4] & SINGLE_SEGMENT == 0
        && data[5] >> 3 == WINDOW_LOG_31_EXPONENT;
    if !declares_log_31 {
        return Ok(Cow::Borrowed(data));
    }
    let mut copy = Vec::new();
    copy.try_reserve_exact(data.len()).map_err(|_| CompressionError::CannotAllocate(data.len()))?;
    copy.extend_from_slice(data);
    copy[5] -= 1 << 3;
    Ok(Cow::Owned(copy))
}

/// Replaces `out` (which must be empty) with the one zstd frame in `data`, which must decode to
/// exactly `expected` bytes. Single-shot decoding writes straight into the
/// `expected`-sized buffer and needs no window buffer, so a frame that
/// declares a huge window cannot make it allocate more.
pub fn decompress(data: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    let corrupt = |reason: String| CompressionError::Corrupt { codec: Codec::Zstd, reason };
    let data = with_window_log_at_most_30(data)?;
    let data = &data[..];
    // SAFETY: data is a live slice and its length is passed with it.
    let frame_len = unsafe { sys::ZSTD_findFrameCompressedSize(data.as_ptr().cast(), data.len()) };
    if is_error(frame_len) {
        return Err(corrupt(error_name(frame_len)));
    }
    if frame_len != data.len() {
        return Err(corrupt(format!("{} bytes after the frame (PW-COMP-004 allows one frame)", data.len() - frame_len)));
    }
    // SAFETY: as above.
    let content = unsafe { sys::ZSTD_getFrameContentSize(data.as_ptr().cast(), data.len()) };
    if content != sys::ZSTD_CONTENTSIZE_UNKNOWN as u64 && content != sys::ZSTD_CONTENTSIZE_ERROR as u64 && content != expected as u64 {
        return Err(corrupt(format!("frame declares {content} bytes, batch declares {expected}")));
    }
    out.clear();
    out.try_reserve_exact(expected).map_err(|_| CompressionError::CannotAllocate(expected))?;
    // zstd writes straight into the spare capacity: no zero-fill first.
    let spare = out.spare_capacity_mut();
    let n = with_contexts(|ctx| {
        // SAFETY: dctx is valid; spare has room for `expected` bytes and data
        // is a live slice passed with its length; zstd never writes past `expected`.
        unsafe { sys::ZSTD_decompressDCtx(ctx.dctx, spare.as_mut_ptr().cast(), expected, data.as_ptr().cast(), data.len()) }
    });
    if is_error(n) {
        return Err(corrupt(error_name(n)));
    }
    check_len(Codec::Zstd, n, expected)?;
    // SAFETY: zstd initialised the first n bytes of the spare capacity.
    unsafe { out.set_len(n) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// A frame as a streaming encoder writes it (no content size, so a
    /// Window_Descriptor), with `window_descriptor` and `content` in one raw block.
    fn raw_frame(window_descriptor: u8, content: &[u8]) -> Vec<u8> {
        let mut frame = 0xFD2F_B528u32.to_le_bytes().to_vec();
        frame.push(0); // no content size, not single-segment, no checksum, no dictionary
        frame.push(window_descriptor);
        let block_header = ((content.len() as u32) << 3) | 1; // Last_Block, Raw_Block
        frame.extend_from_slice(&block_header.to_le_bytes()[..3]);
        frame.extend_from_slice(content);
        frame
    }

    /// `data` compressed by libzstd's streaming API, as zstd-jni's output
    /// stream does, with Window_Log `window_log`: the size is not known up
    /// front, so the frame has a Window_Descriptor and no content size.
    fn streamed_with_window_log(data: &[u8], window_log: i32) -> Vec<u8> {
        let mut out = vec![0u8; unsafe { sys::ZSTD_compressBound(data.len()) }];
        // SAFETY: a fresh context, freed below; the buffers point into live
        // slices with their lengths, and zstd writes within out.
        unsafe {
            let cctx = sys::ZSTD_createCCtx();
            assert!(!is_error(sys::ZSTD_CCtx_setParameter(cctx, sys::ZSTD_cParameter::ZSTD_c_windowLog, window_log)));
            let mut input = sys::ZSTD_inBuffer { src: data.as_ptr().cast(), size: data.len(), pos: 0 };
            let mut output = sys::ZSTD_outBuffer { dst: out.as_mut_ptr().cast(), size: out.len(), pos: 0 };
            let step = sys::ZSTD_compressStream2(cctx, &mut output, &mut input, sys::ZSTD_EndDirective::ZSTD_e_continue);
            assert!(!is_error(step), "{}", error_name(step));
            let left = sys::ZSTD_compressStream2(cctx, &mut output, &mut input, sys::ZSTD_EndDirective::ZSTD_e_end);
            assert_eq!(left, 0, "{}", error_name(left));
            sys::ZSTD_freeCCtx(cctx);
            out.truncate(output.pos);
        }
        out
    }

    #[test]
    fn pw_comp_010_every_window_up_to_log_31_decodes() {
        let content = b"polywire zstd window ".repeat(200);
        // Window_Log 10, 27, 30 and 31, each with the smallest and largest mantissa.
        for exponent in [0u8, 17, 20, 21] {
            for mantissa in [0u8, 7] {
                let mut out = Vec::new();
                decompress(&raw_frame(exponent << 3 | mantissa, &content), content.len(), &mut out).unwrap();
                assert_eq!(out, content, "exponent {exponent} mantissa {mantissa}");
            }
        }
        if cfg!(target_pointer_width = "64") {
            // libzstd's own encoder, as a Java producer set to windowLog 31 uses it.
            let frame = streamed_with_window_log(&content, 31);
            assert_eq!(frame[5] >> 3, WINDOW_LOG_31_EXPONENT);
            let mut out = Vec::new();
            decompress(&frame, content.len(), &mut out).unwrap();
            assert_eq!(out, content);
        }
    }

    #[test]
    fn pw_comp_004_012_frames_carry_content_size_and_checksum() {
        let data = b"polywire zstd checksum ".repeat(100);
        for level in [None, Some(1), Some(19)] {
            let mut frame = Vec::new();
            compress(&data, level, &mut frame).unwrap();
            // Frame_Header_Descriptor (RFC 8878 3.1.1.1.1): bit 2 is Content_Checksum_flag.
            assert_eq!(frame[4] & 0x04, 0x04, "level {level:?}");
            // SAFETY: frame is a live slice passed with its length.
            let content = unsafe { sys::ZSTD_getFrameContentSize(frame.as_ptr().cast(), frame.len()) };
            assert_eq!(content, data.len() as u64);
            let mut out = Vec::new();
            decompress(&frame, data.len(), &mut out).unwrap();
            assert_eq!(out, data);
            // The last 4 bytes are the checksum: a change there is caught.
            let n = frame.len();
            frame[n - 1] ^= 1;
            assert_eq!(decompress(&frame, data.len(), &mut out).unwrap_err().code(), ErrorCode::CorruptBatch);
        }
    }

    #[test]
    fn pw_comp_010_a_window_above_log_31_is_corrupt() {
        for exponent in [22u8, 31] {
            let mut out = Vec::new();
            let e = decompress(&raw_frame(exponent << 3, b"abc"), 3, &mut out).unwrap_err();
            assert_eq!(e.code(), ErrorCode::CorruptBatch);
        }
    }

    #[test]
    fn pw_comp_010_only_a_copy_is_rewritten() {
        let frame = raw_frame(WINDOW_LOG_31_EXPONENT << 3 | 3, b"abc");
        assert!(matches!(with_window_log_at_most_30(&frame).unwrap(), Cow::Owned(ref c) if c[5] == (20 << 3 | 3) && c[6..] == frame[6..]));
        assert_eq!(frame[5], WINDOW_LOG_31_EXPONENT << 3 | 3);
        for other in [raw_frame(20 << 3, b"abc"), raw_frame(22 << 3, b"abc"), vec![0x28, 0xb5, 0x2f, 0xfd, 0x20, 0xa8]] {
            assert!(matches!(with_window_log_at_most_30(&other).unwrap(), Cow::Borrowed(_)));
        }
    }
}
