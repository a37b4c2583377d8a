// The benchmark corpus: generated JSON log records, deterministic (seeded
// xorshift), the kind of data Polywire producers compress in practice.

const LEVELS = ["debug", "info", "info", "info", "warn", "error"];
const SERVICES = ["gateway", "orders", "billing", "search", "auth", "inventory", "notifier"];
const PATHS = ["/api/v1/orders", "/api/v1/items", "/api/v1/users/me", "/healthz", "/api/v1/search", "/api/v1/cart"];
const MESSAGES = ["request handled", "cache miss", "upstream timeout, retrying", "user authenticated", "payment captured", "slow query"];

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** One JSON log line (no newline). */
export function logLine(next, i) {
  const r = next();
  return JSON.stringify({
    ts: new Date(1_763_900_000_000 + i * 137 + (r % 100)).toISOString(),
    level: LEVELS[r % LEVELS.length],
    service: SERVICES[(r >>> 3) % SERVICES.length],
    msg: MESSAGES[(r >>> 6) % MESSAGES.length],
    path: PATHS[(r >>> 9) % PATHS.length],
    status: [200, 200, 200, 201, 304, 404, 500][(r >>> 12) % 7],
    latency_ms: (r >>> 15) % 2000,
    user: `u${(r >>> 4) % 50000}`,
    trace: next().toString(16).padStart(8, "0") + next().toString(16).padStart(8, "0"),
  });
}

/** `size` bytes of newline-separated JSON log records. */
export function jsonLogs(size, seed = 42) {
  const next = rng(seed);
  const parts = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const line = `${logLine(next, i)}\n`;
    parts.push(line);
    n += line.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, size);
}

/** `count` records of a `valueSize`-byte JSON log value, a short key and one header. */
export function logRecords(count, valueSize, seed = 7) {
  const next = rng(seed);
  const te = new TextEncoder();
  return Array.from({ length: count }, (_, i) => {
    const line = logLine(next, i).padEnd(valueSize, " ").slice(0, valueSize);
    return {
      key: te.encode(`user-${i % 97}`),
      value: te.encode(line),
      headers: [{ key: "trace", value: te.encode(`t-${i}`) }],
      timestamp: 1_763_900_000_000 + i,
      typeId: 1,
    };
  });
}
