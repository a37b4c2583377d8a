import { describe, expect, it } from "vitest";
import { openMemoryStorage } from "../../src/storage/memory.js";
import { codecReady, makeBatch, recordsOf } from "../storage-fixtures.js";
import { engineContract } from "./engine-contract.js";

// Nothing survives close: the memory engine makes no durability promise.
engineContract({
  name: "memory",
  durable: false,
  open: (_directory, options) => openMemoryStorage({ retentionCheckIntervalMs: 0, ...options }),
});


describe("memory engine buffers", () => {
  it("PW-LOG-031: keeps a batch as a frame decoder hands it out, and copies a view into a much larger buffer", async () => {
    await codecReady;
    const storage = await openMemoryStorage({ retentionCheckIntervalMs: 0 });
    try {
      await storage.createTopic("buffers", { partitions: 1 });
      const log = storage.partition("buffers", 0);

      // A decoded frame owns one buffer: a short message section, then the batch.
      const first = makeBatch({ values: ["first"] });
      const frame = new Uint8Array(24 + first.bytes.byteLength);
      frame.set(first.bytes, 24);
      const payload = frame.subarray(24);
      await log.append(payload, first.header);

      // A batch inside a buffer far larger than itself must not keep it alive.
      const second = makeBatch({ values: ["second"] });
      const large = new Uint8Array(1 << 20);
      large.set(second.bytes, 4096);
      const view = large.subarray(4096, 4096 + second.bytes.byteLength);
      await log.append(view, second.header);

      const read = await log.read(0n, 1 << 20);
      expect(recordsOf(read)).toEqual([[0n, "first"], [1n, "second"]]);
      const [kept, copied] = read.chunks as [Uint8Array, Uint8Array];
      expect(kept.buffer).toBe(frame.buffer);
      expect(copied.buffer).not.toBe(large.buffer);
      expect(copied.buffer.byteLength).toBe(second.bytes.byteLength);
      // Served byte for byte as appended (with the base offset written in).
      expect(copied).toEqual(view);
    } finally {
      await storage.close();
    }
  });
});
