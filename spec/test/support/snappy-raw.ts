// A strict Snappy raw-block decoder (format_description.txt: a varint of the
// uncompressed length, then literal and copy elements), written for the tests
// so that the snappy vectors are not checked with the library that made them.
export function snappyRawDecode(src: Uint8Array): Uint8Array {
  let s = 0;
  let size = 0;
  for (let shift = 0; ; shift += 7) {
    if (s >= src.length || shift > 28) throw new Error("bad length preamble");
    const byte = src[s++]!;
    size += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  const out = new Uint8Array(size);
  let d = 0;
  const need = (n: number) => {
    if (s + n > src.length) throw new Error("element runs past the input");
  };
  while (s < src.length) {
    const tag = src[s++]!;
    if ((tag & 3) === 0) {
      let length = tag >> 2;
      if (length >= 60) {
        const bytes = length - 59;
        need(bytes);
        length = 0;
        for (let i = 0; i < bytes; i++) length |= src[s + i]! << (8 * i);
        s += bytes;
      }
      length += 1;
      need(length);
      if (d + length > size) throw new Error("output exceeds the preamble length");
      out.set(src.subarray(s, s + length), d);
      s += length;
      d += length;
      continue;
    }
    let length: number;
    let offset: number;
    if ((tag & 3) === 1) {
      need(1);
      length = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | src[s++]!;
    } else if ((tag & 3) === 2) {
      need(2);
      length = (tag >> 2) + 1;
      offset = src[s]! | (src[s + 1]! << 8);
      s += 2;
    } else {
      need(4);
      length = (tag >> 2) + 1;
      offset = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16) | (src[s + 3]! << 24)) >>> 0;
      s += 4;
    }
    if (offset === 0 || offset > d) throw new Error(`copy offset ${offset} at output ${d}`);
    if (d + length > size) throw new Error("output exceeds the preamble length");
    for (let i = 0; i < length; i++, d++) out[d] = out[d - offset]!;
  }
  if (d !== size) throw new Error(`decoded ${d} bytes, preamble says ${size}`);
  return out;
}
