// A strict LZ4 block decoder (the LZ4 block format: sequences of a token,
// literals, a 2-byte little-endian offset and a match), written for the tests
// so that the lz4 vectors are not checked with the library that made them.
// Strict as liblz4 is: it also refuses blocks that break the end-of-block
// rules (PW-COMP-013), which a decoder may refuse (PW-COMP-014).
export function lz4BlockDecode(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let s = 0;
  let d = 0;
  let lastMatch: [number, number] | undefined;
  const extend = (n: number) => {
    if (n !== 15) return n;
    let byte: number;
    do {
      if (s >= src.length) throw new Error("length runs past the input");
      byte = src[s++]!;
      n += byte;
    } while (byte === 255);
    return n;
  };
  while (true) {
    if (s >= src.length) throw new Error("block ends without final literals");
    const token = src[s++]!;
    const literals = extend(token >> 4);
    if (s + literals > src.length) throw new Error("literals run past the input");
    if (d + literals > size) throw new Error("output exceeds the declared size");
    out.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s === src.length) break;
    if (s + 2 > src.length) throw new Error("offset runs past the input");
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d) throw new Error(`match offset ${offset} at output ${d}`);
    const match = extend(token & 15) + 4;
    if (d + match > size) throw new Error("output exceeds the declared size");
    lastMatch = [d, d + match];
    for (let i = 0; i < match; i++, d++) out[d] = out[d - offset]!;
  }
  if (d !== size) throw new Error(`decoded ${d} bytes, expected ${size}`);
  // The last match starts at least 12 bytes and ends at least 5 bytes before the end.
  if (lastMatch !== undefined && (lastMatch[0] + 12 > size || lastMatch[1] + 5 > size)) {
    throw new Error(`the last match covers output ${lastMatch[0]}..${lastMatch[1]} of ${size} (PW-COMP-013)`);
  }
  return out;
}
