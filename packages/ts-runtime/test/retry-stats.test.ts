import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PolywireError } from "../src/index.js";
import { LatencyHistogram, RetryPolicy } from "../src/entry/connection.js";

describe("RetryPolicy: exponential backoff with full jitter", () => {
  it("each delay is uniform in [0, min(maxDelayMs, initialDelayMs * multiplier^(n-1))]", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 5_000 }),
      fc.integer({ min: 0, max: 60_000 }),
      fc.double({ min: 1, max: 5, noNaN: true }),
      fc.integer({ min: 1, max: 60 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (initialDelayMs, maxDelayMs, multiplier, retry, random) => {
        const policy = new RetryPolicy({ initialDelayMs, maxDelayMs, multiplier });
        const bound = Math.min(maxDelayMs, initialDelayMs * multiplier ** (retry - 1));
        expect(policy.bound(retry)).toBeCloseTo(bound, 6);
        const delay = policy.delay(retry, undefined, () => random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(bound);
        expect(delay).toBeCloseTo(random * bound, 6);
      },
    ));
  });

  it("full jitter spreads delays over the whole range (not clustered at the bound)", () => {
    const policy = new RetryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000 });
    const delays = Array.from({ length: 2_000 }, () => policy.delay(10));
    const low = delays.filter((d) => d < 250).length;
    const high = delays.filter((d) => d > 750).length;
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
    expect(low).toBeGreaterThan(350);
    expect(high).toBeGreaterThan(350);
  });

  it("PW-ERR-002: a broker's retry_after_ms raises the delay", () => {
    const policy = new RetryPolicy({ initialDelayMs: 10, maxDelayMs: 10 });
    const error = new PolywireError("SHUTTING_DOWN", "later", { retryAfterMs: 700 });
    expect(policy.delay(1, error)).toBe(700);
  });

  it("PW-SESS-013: by default only retriable errors are retried, and never beyond maxAttempts", () => {
    const policy = new RetryPolicy({ maxAttempts: 3 });
    const timeout = new PolywireError("TIMEOUT", "t");
    expect(policy.shouldRetry(timeout, 1)).toBe(true);
    expect(policy.shouldRetry(timeout, 2)).toBe(true);
    expect(policy.shouldRetry(timeout, 3)).toBe(false);
    expect(policy.shouldRetry(new PolywireError("UNKNOWN_TOPIC", "u"), 1)).toBe(false);
    const throwing = new RetryPolicy({ shouldRetry: () => {
      throw new Error("bug in the hook");
    } });
    expect(throwing.shouldRetry(timeout, 1)).toBe(false);
    expect(new RetryPolicy({ maxAttempts: Infinity }).shouldRetry(timeout, 1e9)).toBe(true);
  });

  it("run() retries until success, and stops on a failure it must not retry", async () => {
    const policy = new RetryPolicy({ initialDelayMs: 1, maxDelayMs: 2 });
    let calls = 0;
    const value = await policy.run(async (attempt) => {
      calls++;
      if (attempt < 3) throw new PolywireError("STORAGE", "disk busy");
      return "done";
    });
    expect([value, calls]).toEqual(["done", 3]);
    calls = 0;
    await expect(policy.run(async () => {
      calls++;
      throw new Error("plain failure");
    })).rejects.toMatchObject({ code: "INTERNAL" });
    expect(calls).toBe(1);
    const controller = new AbortController();
    const running = policy.run(async () => {
      controller.abort();
      throw new PolywireError("TIMEOUT", "t");
    }, controller.signal);
    await expect(running).rejects.toMatchObject({ code: "TIMEOUT" });
  });
});

describe("LatencyHistogram", () => {
  it("quantiles are within one bucket (4.5 %) of the exact value", () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0.01, max: 100_000, noNaN: true }), { minLength: 1, maxLength: 500 }),
      fc.constantFrom(0.5, 0.9, 0.99, 1),
      (values, q) => {
        const h = new LatencyHistogram();
        for (const v of values) h.record(v);
        const sorted = [...values].sort((a, b) => a - b);
        const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
        const estimate = h.quantile(q);
        expect(estimate).toBeGreaterThanOrEqual(exact * 0.999);
        expect(estimate).toBeLessThanOrEqual(Math.max(exact * 1.045, exact + 0.001));
      },
    ));
  });

  it("snapshot: count, min, mean and an exact max; negative and non-finite values are ignored", () => {
    const h = new LatencyHistogram();
    expect(h.snapshot()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
    for (let i = 1; i <= 1000; i++) h.record(i);
    h.record(-1);
    h.record(Number.NaN);
    h.record(Infinity);
    const s = h.snapshot();
    expect([s.count, s.min, s.max]).toEqual([1000, 1, 1000]);
    expect(s.mean).toBeCloseTo(500.5, 6);
    expect(s.p50 / 500).toBeGreaterThan(0.99);
    expect(s.p50 / 500).toBeLessThan(1.05);
    expect(s.p99 / 990).toBeGreaterThan(0.99);
    expect(s.p99 / 990).toBeLessThan(1.05);
  });
});
