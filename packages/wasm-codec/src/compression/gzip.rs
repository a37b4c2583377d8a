//! gzip (PW-COMP-001): one RFC 1952 member, through libdeflate (the C
//! library, built by libdeflate-sys): it decodes a whole member straight into the
//! exact-size output and checks its CRC-32 and ISIZE, about twice as fast as
//! streaming inflaters. Contexts are created once per thread and reused.
//!
//! Every `unsafe` block here is at the C FFI boundary: calls into libdeflate
//! and the allocator callbacks it calls back.

use super::{Codec, CompressionError};
use libdeflate_sys as sys;
use std::alloc::{alloc, dealloc, Layout};
use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::Once;

/// zlib's default level; libdeflate accepts 0-12.
pub const DEFAULT_LEVEL: i32 = 6;
/// Highest libdeflate level.
pub const MAX_LEVEL: i32 = 12;

fn corrupt(reason: impl std::fmt::Display) -> CompressionError {
    CompressionError::Corrupt { codec: Codec::Gzip, reason: reason.to_string() }
}

// libdeflate is built FREESTANDING for wasm32 (no libc), so it allocates
// through these callbacks, backed by Rust's allocator. Each block carries its
// size in a 16-byte prefix so free() can rebuild the layout.
const PREFIX: usize = 16;

unsafe extern "C" fn rust_malloc(size: usize) -> *mut c_void {
    let layout = match size.checked_add(PREFIX).map(|total| Layout::from_size_align(total, PREFIX)) {
        Some(Ok(layout)) => layout,
        _ => return null_mut(),
    };
    // SAFETY: the layout has a non-zero size; a null result is passed on to
    // libdeflate, which reports the failed allocation.
    let base = unsafe { alloc(layout) };
    if base.is_null() {
        return null_mut();
    }
    // SAFETY: base points to at least PREFIX bytes, aligned for usize.
    unsafe {
        base.cast::<usize>().write(layout.size());
        base.add(PREFIX).cast()
    }
}

unsafe extern "C" fn rust_free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: libdeflate only frees pointers rust_malloc returned, so the size
    // prefix sits PREFIX bytes before and describes the original layout.
    unsafe {
        let base = ptr.cast::<u8>().sub(PREFIX);
        let size = base.cast::<usize>().read();
        dealloc(base, Layout::from_size_align_unchecked(size, PREFIX));
    }
}

extern "C" {
    // libdeflate-sys 1.22 (the newest that builds with rustc 1.63) binds
    // only the plain decompress; the "_ex" variant, which also reports the
    // input consumed, is in the library it builds (libdeflate.h).
    fn libdeflate_gzip_decompress_ex(
        decompressor: *mut sys::libdeflate_decompressor,
        input: *const c_void,
        input_len: usize,
        output: *mut c_void,
        output_avail: usize,
        actual_in: *mut usize,
        actual_out: *mut usize,
    ) -> sys::libdeflate_result;
}

static ALLOCATOR: Once = Once::new();

struct Contexts {
    compressor: *mut sys::libdeflate_compressor,
    level: i32,
    decompressor: *mut sys::libdeflate_decompressor,
}

impl Drop for Contexts {
    fn drop(&mut self) {
        // SAFETY: non-null pointers came from libdeflate_alloc_* and are freed once, here.
        unsafe {
            if !self.compressor.is_null() {
                sys::libdeflate_free_compressor(self.compressor);
            }
            if !self.decompressor.is_null() {
                sys::libdeflate_free_decompressor(self.decompressor);
            }
        }
    }
}

thread_local! {
    static CONTEXTS: RefCell<Contexts> = const { RefCell::new(Contexts { compressor: null_mut(), level: -1, decompressor: null_mut() }) };
}

fn install_allocator() {
    ALLOCATOR.call_once(|| {
        // SAFETY: the callbacks are valid for the program's lifetime and
        // this runs before any libdeflate allocation.
        unsafe { sys::libdeflate_set_memory_allocator(rust_malloc, rust_free) }
    });
}

/// Appends one gzip member holding `data` at `level` (0-12).
pub fn compress(data: &[u8], level: i32, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    if !(0..=MAX_LEVEL).contains(&level) {
        return Err(CompressionError::InvalidLevel { codec: Codec::Gzip, level });
    }
    install_allocator();
    CONTEXTS.with(|cell| {
        let mut ctx = cell.borrow_mut();
        if ctx.level != level {
            // SAFETY: freeing a compressor we allocated (or null, which is allowed),
            // then allocating a new one; null means the allocation failed.
            unsafe {
                sys::libdeflate_free_compressor(ctx.compressor);
                ctx.compressor = sys::libdeflate_alloc_compressor(level);
            }
            ctx.level = if ctx.compressor.is_null() { -1 } else { level };
        }
        if ctx.compressor.is_null() {
            return Err(CompressionError::CannotAllocate(0));
        }
        // SAFETY: a valid compressor and a length.
        let bound = unsafe { sys::libdeflate_gzip_compress_bound(ctx.compressor, data.len()) };
        let start = out.len();
        out.try_reserve_exact(bound).map_err(|_| CompressionError::CannotAllocate(bound))?;
        out.resize(start + bound, 0);
        let dst = &mut out[start..];
        // SAFETY: data and dst are live slices passed with their lengths.
        let written = unsafe {
            sys::libdeflate_gzip_compress(ctx.compressor, data.as_ptr().cast(), data.len(), dst.as_mut_ptr().cast(), dst.len())
        };
        // 0 means "did not fit", impossible with the bound but checked anyway.
        if written == 0 {
            out.truncate(start);
            return Err(CompressionError::InputTooLarge(data.len()));
        }
        out.truncate(start + written);
        Ok(())
    })
}

/// Replaces `out` with the single member in `data` decoded, which must be
/// exactly `expected` bytes (PW-COMP-005); libdeflate checks the header,
/// CRC-32 and ISIZE, and nothing may follow the member.
pub fn decompress(data: &[u8], expected: usize, out: &mut Vec<u8>) -> Result<(), CompressionError> {
    install_allocator();
    out.clear();
    out.try_reserve_exact(expected).map_err(|_| CompressionError::CannotAllocate(expected))?;
    CONTEXTS.with(|cell| {
        let mut ctx = cell.borrow_mut();
        if ctx.decompressor.is_null() {
            // SAFETY: argument-free constructor; null means the allocation failed.
            ctx.decompressor = unsafe { sys::libdeflate_alloc_decompressor() };
            if ctx.decompressor.is_null() {
                return Err(CompressionError::CannotAllocate(0));
            }
        }
        // libdeflate writes straight into the spare capacity: no zero-fill first.
        let spare = out.spare_capacity_mut();
        let mut consumed = 0usize;
        let mut written = 0usize;
        // SAFETY: a valid decompressor; spare has room for `expected` bytes and
        // data is a live slice passed with its length; the out-parameters are
        // valid usizes. libdeflate never writes past `expected`.
        let result = unsafe {
            libdeflate_gzip_decompress_ex(
                ctx.decompressor,
                data.as_ptr().cast(),
                data.len(),
                spare.as_mut_ptr().cast(),
                expected,
                &mut consumed,
                &mut written,
            )
        };
        match result {
            sys::libdeflate_result_LIBDEFLATE_SUCCESS => {}
            sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => {
                return Err(corrupt(format!("more than the {expected} bytes declared")))
            }
            _ => return Err(corrupt("invalid gzip member (header, deflate data, CRC-32 or ISIZE)")),
        }
        if written != expected {
            return Err(corrupt(format!("decoded {written} bytes, {expected} declared")));
        }
        if consumed != data.len() {
            return Err(corrupt("bytes after the gzip member (PW-COMP-001 allows one member)"));
        }
        // SAFETY: libdeflate initialised the first `written` bytes of the spare capacity.
        unsafe { out.set_len(written) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        compress(data, DEFAULT_LEVEL, &mut out).unwrap();
        out
    }

    #[test]
    fn pw_comp_001_accepts_optional_header_fields() {
        // A member with FEXTRA, FNAME and FCOMMENT set, hand-built around a
        // stored deflate block: header fields are skipped, not rejected.
        let data = b"polywire";
        let mut m = vec![0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 255];
        m.extend_from_slice(&[3, 0, 1, 2, 3]);
        m.extend_from_slice(b"name\0comment\0");
        m.extend_from_slice(&[1, data.len() as u8, 0, !(data.len() as u8), 0xff]);
        m.extend_from_slice(data);
        m.extend_from_slice(&crc32c_free_crc32(data).to_le_bytes());
        m.extend_from_slice(&(data.len() as u32).to_le_bytes());
        let mut out = Vec::new();
        decompress(&m, data.len(), &mut out).unwrap();
        assert_eq!(&out, data);
    }

    // CRC-32 (IEEE) for the hand-built member above, bit by bit.
    fn crc32c_free_crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn pw_comp_001_rejects_broken_members() {
        let data = b"abcdefgh".repeat(100);
        let good = member(&data);
        let mut out = Vec::new();
        let mut check = |bytes: &[u8]| decompress(bytes, data.len(), &mut out).unwrap_err().code();
        let n = good.len();
        let mut bad_crc = good.clone();
        bad_crc[n - 8] ^= 1;
        let mut bad_size = good.clone();
        bad_size[n - 4] ^= 1;
        let mut two = good.clone();
        two.extend_from_slice(&good);
        for bytes in [&bad_crc[..], &bad_size[..], &two[..], &good[..n - 1], &good[..5], b"not gzip at all"] {
            assert_eq!(check(bytes), crate::ErrorCode::CorruptBatch);
        }
    }

    #[test]
    fn levels_zero_to_twelve() {
        let data = b"polywire polywire polywire".repeat(40);
        for level in 0..=MAX_LEVEL {
            let mut packed = Vec::new();
            compress(&data, level, &mut packed).unwrap();
            let mut out = Vec::new();
            decompress(&packed, data.len(), &mut out).unwrap();
            assert_eq!(out, data);
        }
        assert!(compress(&data, 13, &mut Vec::new()).is_err());
    }
}
