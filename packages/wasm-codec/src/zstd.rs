//! Zstandard (PW-COMP-004) through the reference C library (zstd-sys). The
//! contexts are created once per thread and reused: creating one per call
//! costs more than compressing a 4 KiB records section.
//!
//! Every `unsafe` block here is a call across the C FFI boundary.

use crate::compression::{check_len, Codec, CompressionError};
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

/// Appends one zstd frame holding `data`, with its content size (PW-COMP-004).
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
        unsafe {
            sys::ZSTD_compressCCtx(
                ctx.cctx,
                dst.as_mut_ptr().cast(),
                dst.len(),
                data.as_ptr().cast(),
                data.len(),
                level,
            )
        }
    });
    if is_error(written) {
        out.truncate(start);
        return Err(CompressionError::Corrupt { codec: Codec::Zstd, reason: error_name(written) });
    }
    out.truncate(start + written);
    Ok(())
}

/// Replaces `out` (which must be empty) with the one zstd frame in `data`, which must decode to
/// exactly `expected` bytes. Single-shot decoding writes straight into the
/// `expected`-sized buffer and needs no window buffer, so a frame that
/// declares a huge window cannot make it allocate more.
pub fn decompress(data: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    let corrupt = |reason: String| CompressionError::Corrupt { codec: Codec::Zstd, reason };
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
