/** Kafka's `Utils.murmur2` of `key` (seed 0x9747b28c), as a signed 32-bit number (PW-PART-002). */
export declare function murmur2(key: Uint8Array): number;
/**
 * The partition a non-null key lands on: `(murmur2(key) & 0x7fffffff) % partitions`,
 * the same partition number a Kafka producer picks (PW-PART-002).
 */
export declare function partitionForKey(key: Uint8Array, partitions: number): number;
//# sourceMappingURL=partition.d.ts.map