import { beforeAll, describe, expect, it } from "vitest";
import { openStorage, type StorageConfig } from "../src/storage/engine-config.js";
import { StorageError } from "../src/storage/errors.js";
import { codecReady, makeBatch, tempDirectory } from "./storage-fixtures.js";

beforeAll(() => codecReady);

const configs: ReadonlyArray<{ name: string; config: (dir: string) => StorageConfig }> = [
  { name: "memory", config: () => ({ engine: "memory" }) },
  { name: "disk", config: (dir) => ({ engine: "disk", dir }) },
];

describe.each(configs)("broker storage config ($name engine)", ({ config }) => {
  it("PW-ADMIN-023: retentionCheckIntervalMs makes retention run on its own at that period", async () => {
    await using dir = await tempDirectory();
    const storage = await openStorage({ ...config(dir.path), retentionCheckIntervalMs: 50 });
    try {
      await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": "1024", "retention.bytes": "1", "retention.ms": "-1" } });
      const log = storage.partition("t", 0);
      for (let i = 0; i < 20; i++) {
        const b = makeBatch({ values: [`${i}`.padStart(200, "0")] });
        await log.append(b.bytes, b.header);
      }
      // Generous for a busy 2-core machine: the period is 50 ms. A run drops
      // closed segments one by one, so wait for its whole effect (only the
      // active segment left), not for its first step.
      const deadline = Date.now() + 10_000;
      while (log.stats().segments > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(log.stats().segments).toBe(1);
      expect(log.logStartOffset()).toBeGreaterThan(0n);
      expect(log.logStartOffset()).toBeLessThan(20n);
    } finally {
      await storage.close();
    }
  });

  it("rejects a retentionCheckIntervalMs that is not an integer from 0 to 2^31-1 with INVALID_ARGUMENT", async () => {
    await using dir = await tempDirectory();
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) {
      const error = await openStorage({ ...config(dir.path), retentionCheckIntervalMs: bad }).then(async (s) => {
        await s.close();
        return undefined;
      }, (e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe("INVALID_ARGUMENT");
      expect((error as StorageError).message).toContain("retentionCheckIntervalMs");
    }
    // A refused value must not leave the directory locked.
    const storage = await openStorage({ ...config(dir.path), retentionCheckIntervalMs: 0 });
    await storage.close();
  });
});

describe("broker storage config (disk engine): maxOpenFiles", () => {
  it("rejects a maxOpenFiles that is not an integer from 4 to 1048576 with INVALID_ARGUMENT before storage opens, and takes one that is", async () => {
    await using dir = await tempDirectory();
    for (const bad of [0, 3, 4.5, Number.NaN, 1_048_577]) {
      const error = await openStorage({ engine: "disk", dir: dir.path, maxOpenFiles: bad }).then(async (s) => {
        await s.close();
        return undefined;
      }, (e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe("INVALID_ARGUMENT");
      expect((error as StorageError).message).toContain("maxOpenFiles");
    }
    // A refused value must not leave the directory locked, and the smallest allowed works.
    const storage = await openStorage({ engine: "disk", dir: dir.path, maxOpenFiles: 4, retentionCheckIntervalMs: 0 });
    try {
      await storage.createTopic("t", { partitions: 20 });
      for (let p = 0; p < 20; p++) {
        const b = makeBatch({ values: [`v${p}`] });
        await storage.partition("t", p).append(b.bytes, b.header, { durability: "synced" });
      }
      for (let p = 0; p < 20; p++) expect((await storage.partition("t", p).read(0n, 1 << 20)).size).toBeGreaterThan(0);
    } finally {
      await storage.close();
    }
  });
});
