"""Reference codecs for the codec's differential test (differential.test.ts).

Each records-section codec of spec section 5.3, through the C library that
defines it in practice: zlib (Python's zlib module), Google's C++ Snappy
(libsnappy, Debian's libsnappy1v5, through ctypes and its C API), liblz4
(the `lz4` package) and libzstd (the `zstandard` package). None of them
shares code with the WASM codec's decoders (libdeflate, the snap crate,
lz4_flex), except zstd, whose C library is the reference itself.

Protocol, both ways little-endian, all requests on stdin, all answers on
stdout in the same order:
  request:  op u8 (0 decompress, 1 compress, 2 compress without zstd's
            content checksum), codec u8 (spec codec id),
            arg u32 (uncompressed_size, or the level; 0 = default),
            length u32, bytes
  answer:   status u8 (0 ok, 1 error), length u32, bytes (the output, or
            the error message in UTF-8)
"""

import ctypes
import struct
import sys
import zlib

import lz4.block
import zstandard

GZIP, SNAPPY, LZ4, ZSTD = 1, 2, 3, 4

_snappy = ctypes.CDLL("libsnappy.so.1")
_snappy.snappy_uncompressed_length.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
_snappy.snappy_uncompress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]
_snappy.snappy_max_compressed_length.argtypes = [ctypes.c_size_t]
_snappy.snappy_max_compressed_length.restype = ctypes.c_size_t
_snappy.snappy_compress.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]


class ReferenceError(Exception):
    pass


def snappy_decompress(data: bytes, size: int) -> bytes:
    declared = ctypes.c_size_t()
    if _snappy.snappy_uncompressed_length(data, len(data), ctypes.byref(declared)) != 0:
        raise ReferenceError("snappy: bad length header")
    # The header is untrusted: never allocate more than the batch declares.
    if declared.value > size:
        raise ReferenceError(f"snappy: block declares {declared.value} bytes, batch {size}")
    out = ctypes.create_string_buffer(max(declared.value, 1))
    length = ctypes.c_size_t(declared.value)
    if _snappy.snappy_uncompress(data, len(data), out, ctypes.byref(length)) != 0:
        raise ReferenceError("snappy: corrupt input")
    return out.raw[: length.value]


def snappy_compress(data: bytes) -> bytes:
    out = ctypes.create_string_buffer(_snappy.snappy_max_compressed_length(len(data)))
    length = ctypes.c_size_t(len(out))
    if _snappy.snappy_compress(data, len(data), out, ctypes.byref(length)) != 0:
        raise ReferenceError("snappy: compress failed")
    return out.raw[: length.value]


def gzip_decompress(data: bytes, size: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(data, size + 1)
    if not inflater.eof:
        raise ReferenceError("gzip: member does not end within uncompressed_size + 1 bytes")
    return out


def zstd_decompress(data: bytes, size: int) -> bytes:
    params = zstandard.get_frame_parameters(data)
    if params.content_size not in (zstandard.CONTENTSIZE_UNKNOWN, size):
        raise ReferenceError(f"zstd: frame declares {params.content_size} bytes, batch {size}")
    # Window_Log 31 is what 64-bit libzstd accepts at most (PW-COMP-010).
    return zstandard.ZstdDecompressor(max_window_size=1 << 31).decompress(data, max_output_size=size + 1)


def decompress(codec: int, data: bytes, size: int) -> bytes:
    if codec == GZIP:
        return gzip_decompress(data, size)
    if codec == SNAPPY:
        return snappy_decompress(data, size)
    if codec == LZ4:
        return lz4.block.decompress(data, uncompressed_size=size)
    if codec == ZSTD:
        return zstd_decompress(data, size)
    raise ReferenceError(f"unknown codec {codec}")


def compress(codec: int, data: bytes, level: int, checksum: bool) -> bytes:
    if codec == GZIP:
        packer = zlib.compressobj(level or zlib.Z_DEFAULT_COMPRESSION, wbits=31)
        return packer.compress(data) + packer.flush()
    if codec == SNAPPY:
        return snappy_compress(data)
    if codec == LZ4:
        return lz4.block.compress(data, mode="high_compression" if level else "default", compression=level, store_size=False)
    if codec == ZSTD:
        # With the content checksum unless asked otherwise: libzstd only
        # promises to catch corruption with it (PW-COMP-012); producers
        # such as librdkafka and zstd-jni write none by default.
        return zstandard.ZstdCompressor(level=level or 3, write_checksum=checksum).compress(data)
    raise ReferenceError(f"unknown codec {codec}")


def main() -> None:
    source = sys.stdin.buffer.read()
    answers = []
    pos = 0
    while pos < len(source):
        op, codec, arg, length = struct.unpack_from("<BBII", source, pos)
        pos += 10
        data = source[pos : pos + length]
        pos += length
        try:
            out = decompress(codec, data, arg) if op == 0 else compress(codec, data, arg, op == 1)
            answers.append(struct.pack("<BI", 0, len(out)) + out)
        except (ReferenceError, lz4.block.LZ4BlockError, zstandard.ZstdError, zlib.error, MemoryError) as error:
            message = f"{type(error).__name__}: {error}".encode()
            answers.append(struct.pack("<BI", 1, len(message)) + message)
    sys.stdout.buffer.write(b"".join(answers))


if __name__ == "__main__":
    main()
