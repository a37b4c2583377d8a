// Kafka's murmur2 written from its definition (PW-PART-002) over unsigned
// 32-bit arithmetic with BigInt, unlike the generator's Math.imul version.
const MASK = 0xffffffffn;
const M = 0x5bd1e995n;
const mul = (a: bigint, b: bigint) => (a * b) & MASK;

export function murmur2(key: Uint8Array): number {
  let h = (0x9747b28cn ^ BigInt(key.length)) & MASK;
  let i = 0;
  for (; i + 4 <= key.length; i += 4) {
    let k = BigInt(key[i]! + key[i + 1]! * 2 ** 8 + key[i + 2]! * 2 ** 16 + key[i + 3]! * 2 ** 24);
    k = mul(k, M);
    k ^= k >> 24n;
    k = mul(k, M);
    h = mul(h, M) ^ k;
  }
  const rest = key.length - i;
  if (rest > 0) {
    if (rest >= 3) h ^= BigInt(key[i + 2]!) << 16n;
    if (rest >= 2) h ^= BigInt(key[i + 1]!) << 8n;
    h ^= BigInt(key[i]!);
    h = mul(h, M);
  }
  h ^= h >> 13n;
  h = mul(h, M);
  h ^= h >> 15n;
  return Number(BigInt.asIntN(32, h));
}
