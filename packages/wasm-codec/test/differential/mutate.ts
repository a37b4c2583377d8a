// Seeded inputs and mutations of compressed blocks for the differential test.

/** xorshift32: the same seed gives the same inputs and mutants on every run. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }

  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)] as T;
  }
}

const WORDS = ["request", "handled", "user", "order", "cart", "timeout", "retry", "cache", "miss", "db", "slow", "ok"];

/** JSON log lines, the data producers compress, cut to exactly `size` bytes. */
export function logLines(rng: Rng, size: number): Uint8Array {
  let text = "";
  while (text.length < size) {
    text += `${JSON.stringify({ ts: 1_700_000_000_000 + rng.below(1e6), level: rng.pick(["info", "warn", "error"]), path: `/api/${rng.pick(WORDS)}/${rng.below(1000)}`, msg: `${rng.pick(WORDS)} ${rng.pick(WORDS)}` })}\n`;
  }
  return new TextEncoder().encode(text.slice(0, size));
}

/** Bytes with no structure: most blocks of them are stored as literals. */
export function noise(rng: Rng, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, () => rng.below(256));
}

/** Long runs of a few symbols: long matches, small offsets, high ratios. */
export function runs(rng: Rng, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let i = 0;
  while (i < size) {
    const value = rng.pick([0, 0x20, 0x41, 0xff]);
    const end = Math.min(size, i + 1 + rng.below(300));
    out.fill(value, i, end);
    i = end;
  }
  return out;
}

/**
 * Where the 2-byte match offsets of an LZ4 block are: each sequence is a
 * token, literal length bytes, literals, then (except in the last) an offset
 * and match length bytes.
 */
export function lz4OffsetPositions(block: Uint8Array): number[] {
  const positions: number[] = [];
  let s = 0;
  const extend = (n: number): number => {
    if (n !== 15) return n;
    let byte = 255;
    while (byte === 255 && s < block.length) {
      byte = block[s++] as number;
      n += byte;
    }
    return n;
  };
  while (s < block.length) {
    const token = block[s++] as number;
    s += extend(token >> 4);
    if (s + 2 > block.length) break;
    positions.push(s);
    s += 2;
    extend(token & 15);
  }
  return positions;
}

export interface Mutant {
  readonly how: string;
  readonly bytes: Uint8Array;
}

/** One seeded mutation of `block`; for LZ4 some zero a match offset (PW-COMP-011). */
export function mutate(rng: Rng, block: Uint8Array, lz4: boolean): Mutant {
  const out = block.slice();
  const at = rng.below(Math.max(1, block.length));
  const kind = rng.below(lz4 ? 9 : 8);
  switch (kind) {
    case 0:
      out[at] = (out[at] ?? 0) ^ (1 << rng.below(8));
      return { how: `flip a bit of byte ${at}`, bytes: out };
    case 1:
      out[at] = rng.below(256);
      return { how: `set byte ${at} to ${out[at]}`, bytes: out };
    case 2:
      out[at] = rng.pick([0, 0xff]);
      return { how: `set byte ${at} to ${out[at]}`, bytes: out };
    case 3:
      return { how: `truncate to ${at} bytes`, bytes: block.slice(0, at) };
    case 4:
      return { how: `insert a byte at ${at}`, bytes: Uint8Array.from([...block.subarray(0, at), rng.below(256), ...block.subarray(at)]) };
    case 5:
      return { how: `delete byte ${at}`, bytes: Uint8Array.from([...block.subarray(0, at), ...block.subarray(at + 1)]) };
    case 6: {
      const other = rng.below(Math.max(1, block.length));
      [out[at], out[other]] = [out[other] ?? 0, out[at] ?? 0];
      return { how: `swap bytes ${at} and ${other}`, bytes: out };
    }
    case 7: {
      const n = 1 + rng.below(4);
      for (let i = 0; i < n; i++) out[rng.below(Math.max(1, out.length))] ^= 1 + rng.below(255);
      return { how: `change ${n} random bytes`, bytes: out };
    }
    default: {
      const offsets = lz4OffsetPositions(block);
      if (offsets.length === 0) return { how: "unchanged (no match to zero)", bytes: out };
      const pos = rng.pick(offsets);
      out[pos] = 0;
      out[pos + 1] = 0;
      return { how: `zero the match offset at ${pos}`, bytes: out };
    }
  }
}
