import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { init } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDiskStorage } from "../src/storage/disk.js";
import { makeBatch, tempDirectory } from "./storage-fixtures.js";

/**
 * The fsync policies differ only after a power loss or an operating-system
 * crash (a SIGKILL leaves unsynced data in the page cache), so no test from
 * outside the broker can tell them apart; the conformance suite reports
 * PW-ADMIN-022 as not observable black-box. This test watches the disk
 * engine's real `datasync` calls on real files instead: every FileHandle
 * shares one prototype, so wrapping its `datasync` sees every fsync the
 * engine makes.
 */
let completedSyncs = 0;
let original: FileHandle["datasync"];
let prototype: { datasync: FileHandle["datasync"] };

beforeAll(async () => {
  await init();
  await using dir = await tempDirectory();
  const probe = await open(join(dir.path, "probe"), "w");
  prototype = Object.getPrototypeOf(probe) as { datasync: FileHandle["datasync"] };
  await probe.close();
  original = prototype.datasync;
  prototype.datasync = async function (this: FileHandle): Promise<void> {
    await original.call(this);
    completedSyncs += 1;
  };
});

afterAll(() => {
  prototype.datasync = original;
});

async function withTopic(config: Record<string, string>, body: (append: (value: string, synced?: boolean) => Promise<number>) => Promise<void>): Promise<void> {
  await using dir = await tempDirectory();
  const storage = await openDiskStorage({ directory: dir.path });
  try {
    await storage.createTopic("t", { partitions: 1, config });
    const log = storage.partition("t", 0);
    // Resolves with the number of fsyncs completed when the append was acknowledged.
    const append = async (value: string, synced = false): Promise<number> => {
      const batch = makeBatch({ values: [value] });
      await log.append(batch.bytes, batch.header, synced ? { durability: "synced" } : {});
      return completedSyncs;
    };
    await body(append);
  } finally {
    await storage.close();
  }
}

describe("fsync policies of the disk engine, by its datasync calls (PW-ADMIN-022, PW-LOG-006)", () => {
  it("always: every append is fsynced before it is acknowledged, whatever the acks", async () => {
    await withTopic({ "fsync.policy": "always" }, async (append) => {
      for (let i = 0; i < 5; i++) {
        const before = completedSyncs;
        expect(await append(`a${i}`)).toBeGreaterThan(before);
      }
    });
  });

  it("never: appends are acknowledged without an fsync; ACKS_ALL still waits for one", async () => {
    await withTopic({ "fsync.policy": "never" }, async (append) => {
      const before = completedSyncs;
      for (let i = 0; i < 5; i++) expect(await append(`n${i}`)).toBe(before);
      await sleep(300);
      expect(completedSyncs).toBe(before);
      expect(await append("all", true)).toBeGreaterThan(before);
    });
  });

  it("interval: appends are acknowledged at once and fsynced within fsync.interval.ms; ACKS_ALL waits for one", async () => {
    await withTopic({ "fsync.policy": "interval", "fsync.interval.ms": "200" }, async (append) => {
      const before = completedSyncs;
      expect(await append("i0")).toBe(before);
      const deadline = performance.now() + 200 + 1_000;
      while (completedSyncs === before && performance.now() < deadline) await sleep(10);
      expect(completedSyncs, "no fsync within the interval (plus 1 s of slack for a loaded machine)").toBeGreaterThan(before);
      const later = completedSyncs;
      expect(await append("all", true)).toBeGreaterThan(later);
    });
  });

  it("PW-IDEM-003 PW-LOG-006: a retry answered as a duplicate waits for an fsync when it asks for ACKS_ALL, as its original would", async () => {
    await using dir = await tempDirectory();
    const storage = await openDiskStorage({ directory: dir.path });
    try {
      await storage.createTopic("t", { partitions: 1, config: { "fsync.policy": "never" } });
      const log = storage.partition("t", 0);
      const { producerId, producerEpoch } = await storage.initProducer(-1n, -1);
      const send = (options: { durability?: "synced" } = {}) => {
        const batch = makeBatch({ values: ["once"], producerId, producerEpoch, baseSequence: 0 });
        return log.append(batch.bytes, batch.header, options);
      };
      await send();
      const before = completedSyncs;
      expect(await send()).toMatchObject({ baseOffset: 0n, duplicate: true });
      expect(completedSyncs).toBe(before);
      expect(await send({ durability: "synced" })).toMatchObject({ baseOffset: 0n, duplicate: true });
      expect(completedSyncs).toBeGreaterThan(before);
    } finally {
      await storage.close();
    }
  });
});
