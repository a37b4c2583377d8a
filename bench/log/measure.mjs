// Timing and statistics shared by every system of the log-plane benchmark.

/** Monotonic time in ms. */
export const now = () => performance.now();

/** Sorted copy of numbers. */
function sorted(values) {
  return [...values].sort((a, b) => a - b);
}

/** The nearest-rank percentile (0 < p ≤ 100) of sorted values. */
export function percentile(sortedValues, p) {
  if (sortedValues.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedValues.length);
  return sortedValues[Math.min(sortedValues.length, Math.max(1, rank)) - 1];
}

/** min / median / max of a list of numbers. */
export function spread(values) {
  const s = sorted(values);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1], runs: s.length };
}

/**
 * Keeps sending slices until `durationMs` has passed, with at most
 * `windowRecords` records unacknowledged, then waits for the rest. `slice(n)`
 * sends n records and returns a promise settled when all of them are
 * acknowledged (delivered, for fire-and-forget pub/sub). Returns records/s
 * over the whole run, the drain at the end included.
 */
export async function pump({ durationMs, sliceRecords, windowRecords, slice }) {
  const tails = [];
  let sent = 0;
  const started = now();
  while (now() - started < durationMs) {
    const tail = slice(sliceRecords);
    // Awaited in order below; a rejection before its turn must not count as unhandled.
    tail.catch(() => undefined);
    tails.push(tail);
    sent += sliceRecords;
    // A full window waits for its oldest slice: the only place the loop yields to I/O.
    while (tails.length * sliceRecords >= windowRecords) await tails.shift();
  }
  await Promise.all(tails);
  const seconds = (now() - started) / 1000;
  return { records: sent, seconds, rate: sent / seconds };
}

/**
 * Repeats `once()` (one acknowledged round trip, awaited) for `durationMs`
 * and returns the latencies' p50 and p99 in µs.
 */
export async function latency({ durationMs, once }) {
  const samples = [];
  const started = now();
  while (now() - started < durationMs) {
    const t0 = process.hrtime.bigint();
    await once();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const s = sorted(samples);
  return { samples: s.length, p50: percentile(s, 50), p99: percentile(s, 99) };
}

/**
 * Runs every cell `runs` times after one warm-up each, interleaved: each
 * round runs every cell once, starting one cell later than the round before,
 * so load from other processes on this shared machine (and any after-effect
 * of the previous cell) is spread over all of them alike. A cell is
 * `{ name, run: async () => result }`; `before`/`after` (optional) run
 * untimed around each call (fresh topics, purges). Returns the results per
 * cell name, warm-up excluded.
 */
export async function interleave(cells, { runs, log }) {
  const results = new Map(cells.map((c) => [c.name, []]));
  for (const cell of cells) {
    await cell.before?.();
    await cell.run();
    await cell.after?.();
    log(`  warm ${cell.name}`);
  }
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[(round + i) % cells.length];
      await cell.before?.();
      // Collect the previous cell's garbage so it is not billed to this one.
      globalThis.gc?.();
      const result = await cell.run();
      await cell.after?.();
      results.get(cell.name).push(result);
      log(`  run ${round + 1}/${runs} ${cell.name}: ${cell.describe(result)}`);
    }
  }
  return results;
}
