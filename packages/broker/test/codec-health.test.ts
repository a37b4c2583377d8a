import { HealthStatus } from "@polywire/proto/admin";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_HEALTH_THRESHOLDS, type AdminContext } from "../src/admin/index.js";
import { BrokerMetrics } from "../src/metrics.js";
import { openStorage } from "../src/storage/engine-config.js";

describe("the codec health check behind /readyz (PW-ADMIN-041, PW-ADMIN-042)", () => {
  it("PW-ADMIN-042: NOT_SERVING while the codec cannot be used; SERVING once it can, and after it recovered from a failure", async () => {
    const storage = await openStorage({ engine: "memory" });
    const ctx: AdminContext = {
      storage,
      metrics: new BrokerMetrics(),
      brokerId: "b",
      clusterId: "c",
      version: "0",
      protocolVersions: { min: 1, max: 1 },
      startedAt: performance.now(),
      maxConnections: 10,
      healthThresholds: DEFAULT_HEALTH_THRESHOLDS,
      urls: () => [],
      adminUrl: () => "",
      state: () => "running",
      connections: () => 0,
    };
    // Fresh module instances: a health check whose codec has no usable instance yet.
    vi.resetModules();
    const { checkHealth } = await import("../src/admin/health.js");
    const codec = await import("@polywire/wasm-codec");
    const { wasm } = await import("../../wasm-codec/src/wasm.js");
    const codecCheck = async (): Promise<{ status?: HealthStatus; detail?: string } | undefined> => (await checkHealth(ctx)).checks?.find((c) => c.name === "codec");

    const before = await checkHealth(ctx);
    expect(before.status).toBe(HealthStatus.NOT_SERVING);
    expect(await codecCheck()).toMatchObject({ status: HealthStatus.NOT_SERVING, detail: expect.stringContaining("unusable") });

    await codec.init();
    expect(await codecCheck()).toMatchObject({ status: HealthStatus.SERVING, detail: expect.stringContaining("0 restarts") });
    expect((await checkHealth(ctx)).status).toBe(HealthStatus.SERVING);

    // A real failure inside the module: its allocator aborts with no memory left to grow into
    // (a fresh instance first, whose output buffer is not allocated yet).
    expect(codec.trimMemory(0)).toBe(true);
    const memory = wasm().memory;
    memory.grow(65_536 - memory.buffer.byteLength / 65_536);
    expect(() => codec.encodeFrame({ kind: 1, correlationId: 1, message: new Uint8Array(0) })).toThrow(/restarted with a fresh instance/);
    expect(await codecCheck()).toMatchObject({ status: HealthStatus.SERVING, detail: expect.stringContaining("2 restarts") });
    expect(codec.codecMemory().bytes).toBeLessThan(64 * 1024 * 1024);
    await storage.close();
  });
});
