// Encodes a codec-none batch from its decoded view, to prove that the
// canonical vectors are byte for byte what a minimal encoder writes.
import type { BatchView } from "./batch-reader.js";
import { crc32c } from "./crc32c.js";

function zigzag(value: bigint): number[] {
  let v = (value << 1n) ^ (value >> 63n);
  v &= (1n << 64n) - 1n;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const fromHex = (h: string) => [...Buffer.from(h, "hex")];
const nullable = (h: string | null) => (h === null ? zigzag(-1n) : [...zigzag(BigInt(h.length / 2)), ...fromHex(h)]);

export function writeBatch(view: BatchView): Uint8Array {
  const section: number[] = [];
  for (const r of view.records) {
    const body = [0, ...zigzag(BigInt(r.timestampDelta)), ...zigzag(BigInt(r.offsetDelta)), ...zigzag(BigInt(r.typeId)), ...nullable(r.key), ...nullable(r.value), ...zigzag(BigInt(r.headers.length))];
    for (const h of r.headers) {
      const key = [...Buffer.from(h.key, "utf8")];
      body.push(...zigzag(BigInt(key.length)), ...key, ...nullable(h.value));
    }
    section.push(...zigzag(BigInt(body.length)), ...body);
  }
  const out = new Uint8Array(57 + section.length);
  const dv = new DataView(out.buffer);
  const h = view.header;
  dv.setBigInt64(0, BigInt(h.baseOffset));
  dv.setUint32(8, out.length - 12);
  dv.setUint8(12, 1);
  dv.setUint16(17, h.attributes);
  dv.setUint32(19, view.records.length);
  dv.setBigInt64(23, BigInt(h.firstTimestamp));
  dv.setBigInt64(31, BigInt(h.maxTimestamp));
  dv.setBigInt64(39, BigInt(h.producerId));
  dv.setInt16(47, h.producerEpoch);
  dv.setInt32(49, h.baseSequence);
  dv.setUint32(53, section.length);
  out.set(section, 57);
  dv.setUint32(13, crc32c(out.subarray(17)));
  return out;
}
