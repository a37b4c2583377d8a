/**
 * CRC-32C (Castagnoli) of `data` as an unsigned 32-bit number; pass a
 * previous result as `crc` to continue over several chunks.
 */
export declare function crc32c(data: Uint8Array, crc?: number): number;
//# sourceMappingURL=checksum.d.ts.map