import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openStorage, type StorageConfig } from "../src/storage/engine-config.js";
import { openDiskStorage } from "../src/storage/disk.js";
import { StorageError } from "../src/storage/errors.js";
import { ProducerStateTable } from "../src/storage/producer-state.js";
import type { PartitionLog, ProducerIdentity, Storage } from "../src/storage/storage.js";
import { codecReady, makeBatch, tempDirectory } from "./storage-fixtures.js";

beforeAll(() => codecReady);

const EXPIRATION = 60_000;

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe(code);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The partition's in-memory idempotence table: white-box, to see that expiry frees it. */
function stateOf(log: PartitionLog): ProducerStateTable {
  return (log as unknown as { producers: ProducerStateTable }).producers;
}

/** Appends `count` one-record batches of `producer` to `log` from sequence `from`. */
async function produce(log: PartitionLog, producer: ProducerIdentity, from: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const b = makeBatch({ values: [`v${from + i}`], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: from + i });
    expect((await log.append(b.bytes, b.header)).duplicate).toBe(false);
  }
}

const configs: ReadonlyArray<{ name: string; config: (dir: string) => StorageConfig }> = [
  { name: "memory", config: () => ({ engine: "memory" }) },
  { name: "disk", config: (dir) => ({ engine: "disk", dir }) },
];

describe.each(configs)("broker storage config producerIdExpirationMs ($name engine)", ({ config }) => {
  it("PW-IDEM-011: a producerIdExpirationMs other than -1 or an integer from 1 to 2^53-1 is INVALID_ARGUMENT", async () => {
    await using dir = await tempDirectory();
    for (const bad of [0, -2, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const error = await openStorage({ ...config(dir.path), producerIdExpirationMs: bad }).then(async (s) => {
        await s.close();
        return undefined;
      }, (e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe("INVALID_ARGUMENT");
      expect((error as StorageError).message).toContain("producerIdExpirationMs");
    }
    // A refused value must not leave the directory locked.
    const storage = await openStorage({ ...config(dir.path), producerIdExpirationMs: 1 });
    await storage.close();
  });
});

describe("producer-id expiry across restarts (disk engine)", () => {
  const open = (directory: string): Promise<Storage> => openDiskStorage({ directory, retentionCheckIntervalMs: 0, producerIdExpirationMs: EXPIRATION });

  /** Sets up a forgotten id whose batches are in an old snapshot and in the log, and a live one; returns both. */
  async function forgetOne(directory: string): Promise<{ gone: ProducerIdentity; kept: ProducerIdentity }> {
    const storage = await open(directory);
    try {
      await storage.createTopic("t", { partitions: 1, config: { "segment.bytes": "1024" } });
      const log = storage.partition("t", 0);
      const gone = await storage.initProducer(-1n, -1);
      const kept = await storage.initProducer(-1n, -1);
      // Enough to roll segments, so snapshots naming `gone` are on disk.
      await produce(log, gone, 0, 30);
      await sleep(100);
      const keptSince = Date.now();
      await produce(log, kept, 0, 2);
      expect(log.stats().segments).toBeGreaterThan(1);
      expect(await storage.expireProducers(keptSince + EXPIRATION)).toBe(1);
      expect(stateOf(log).has(gone.producerId)).toBe(false);
      return { gone, kept };
    } finally {
      await storage.close();
    }
  }

  async function expectForgotten(directory: string, gone: ProducerIdentity, kept: ProducerIdentity): Promise<void> {
    const registry = JSON.parse(await readFile(join(directory, "producers.json"), "utf8")) as { nextProducerId: string; producers: [string, number, number][] };
    expect(registry.nextProducerId).toBe("2");
    expect(registry.producers.map(([id]) => id)).toEqual([String(kept.producerId)]);
    const storage = await open(directory);
    try {
      const log = storage.partition("t", 0);
      expect(storage.producerCount()).toBe(1);
      expect(stateOf(log).has(gone.producerId)).toBe(false);
      expect(stateOf(log).has(kept.producerId)).toBe(true);
      const late = makeBatch({ values: ["late"], producerId: gone.producerId, producerEpoch: gone.producerEpoch, baseSequence: 30 });
      const hw = log.highWatermark();
      await expectCode(log.append(late.bytes, late.header), "UNKNOWN_PRODUCER");
      expect(log.highWatermark()).toBe(hw);
      await expectCode(storage.initProducer(gone.producerId, gone.producerEpoch), "UNKNOWN_PRODUCER");
      // The kept id goes on where it was (PW-IDEM-006); the id counter never goes back.
      await produce(log, kept, 2, 1);
      expect((await storage.initProducer(-1n, -1)).producerId).toBe(2n);
    } finally {
      await storage.close();
    }
  }

  it("PW-IDEM-011 PW-IDEM-008: a forgotten id stays forgotten after a clean restart, though old snapshots and the log name it", async () => {
    await using dir = await tempDirectory();
    const { gone, kept } = await forgetOne(dir.path);
    await expectForgotten(dir.path, gone, kept);
  });

  it("PW-IDEM-011 PW-IDEM-006: a forgotten id stays forgotten after an unclean restart that replays old snapshots and the log", async () => {
    await using dir = await tempDirectory();
    const { gone, kept } = await forgetOne(dir.path);
    // Recover as after a crash: no clean marker, and only snapshots older
    // than the expiry, which still hold the forgotten id.
    await rm(join(dir.path, "clean-shutdown"));
    const partition = join(dir.path, "topics", "t", "0");
    const snapshots = (await readdir(partition)).filter((name) => name.endsWith(".snapshot")).sort();
    await rm(join(partition, snapshots[snapshots.length - 1] as string));
    const older = ProducerStateTable.decode(await readFile(join(partition, snapshots[snapshots.length - 2] as string)), 5);
    expect(older?.has(gone.producerId)).toBe(true);
    await expectForgotten(dir.path, gone, kept);
  });

  it("PW-IDEM-011: producers.json without last-activity times (older brokers) loads, its ids active from the load", async () => {
    await using dir = await tempDirectory();
    await writeFile(join(dir.path, "producers.json"), JSON.stringify({ nextProducerId: "5", producers: [["3", 2], ["4", 0]] }));
    await writeFile(join(dir.path, "storage.json"), JSON.stringify({ format: 1 }));
    await writeFile(join(dir.path, "clean-shutdown"), "0");
    const loadedFrom = Date.now();
    const storage = await open(dir.path);
    const loadedBy = Date.now();
    try {
      expect(storage.producerCount()).toBe(2);
      expect(await storage.expireProducers(loadedFrom + EXPIRATION)).toBe(0);
      await sleep(100);
      const bumpedFrom = Date.now();
      expect(bumpedFrom - loadedBy).toBeGreaterThanOrEqual(50);
      expect(await storage.initProducer(3n, 2)).toEqual({ producerId: 3n, producerEpoch: 3 });
      expect(await storage.expireProducers(bumpedFrom + EXPIRATION)).toBe(1);
      await expectCode(storage.initProducer(4n, 0), "UNKNOWN_PRODUCER");
      expect((await storage.initProducer(-1n, -1)).producerId).toBe(5n);
    } finally {
      await storage.close();
    }
    const registry = JSON.parse(await readFile(join(dir.path, "producers.json"), "utf8")) as { producers: [string, number, number][] };
    expect(registry.producers.map(([id, epoch, at]) => [id, epoch, typeof at])).toEqual([["3", 3, "number"], ["5", 0, "number"]]);
  });

  it("PW-IDEM-011: last activity survives a clean restart; after a crash every remembered id starts a full period again", async () => {
    await using dir = await tempDirectory();
    const longAgo = Date.now() - 10 * EXPIRATION;
    const registry = JSON.stringify({ nextProducerId: "8", producers: [["7", 0, longAgo]] });
    await writeFile(join(dir.path, "storage.json"), JSON.stringify({ format: 1 }));

    await writeFile(join(dir.path, "producers.json"), registry);
    let storage = await open(dir.path);
    try {
      expect(await storage.expireProducers()).toBe(0);
      expect(storage.producerCount()).toBe(1);
    } finally {
      await storage.close();
    }

    await writeFile(join(dir.path, "producers.json"), registry);
    storage = await open(dir.path);
    try {
      expect(await storage.expireProducers()).toBe(1);
      expect(storage.producerCount()).toBe(0);
    } finally {
      await storage.close();
    }
  });
});
