// Kafka's Utils.murmur2: 32-bit MurmurHash2 with seed 0x9747b28c, reading the
// key in little-endian 4-byte words. Math.imul keeps every product in 32 bits
// exactly as Java's int arithmetic does.
const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** murmur2 of the key bytes as a signed 32-bit integer, as Java returns it. */
export function murmur2(key) {
  const length = key.length;
  let h = SEED ^ length;
  const words = length >>> 2;
  for (let i = 0; i < words; i++) {
    const o = i * 4;
    let k = key[o] | (key[o + 1] << 8) | (key[o + 2] << 16) | (key[o + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = words * 4;
  switch (length & 3) {
    case 3:
      h ^= key[tail + 2] << 16;
    // falls through
    case 2:
      h ^= key[tail + 1] << 8;
    // falls through
    case 1:
      h ^= key[tail];
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionFor(key, partitions) {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
