import { afterEach, describe, expect, it } from "vitest";
import { connect, Record } from "../src/index.js";
import { startBroker, until } from "./harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe("consumer scheduling", () => {
  // Buffered records are handed out through already-resolved promises, which
  // run as microtasks and never let I/O in: without a turn of the event loop
  // per batch, the next fetch's response would only be read once the whole
  // buffer is consumed, and fetching would never overlap consuming.
  it("a record loop lets the event loop turn once per fetched batch, not per record", async () => {
    const broker = await startBroker({ topics: [{ name: "turns", partitions: 1 }] });
    cleanups.push(() => broker.close());
    const client = await connect(broker.urls[0] as string);
    cleanups.push(() => client.close());
    const perBatch = 50;
    const batches = 3;
    const producer = client.producer({ lingerMs: 1000 });
    for (let b = 0; b < batches; b++) {
      const sent = producer.sendBatch(Array.from({ length: perBatch }, (_, i) => Record.text("turns", `r${b * perBatch + i}`, { partition: 0 })));
      await producer.flush();
      await sent;
    }
    await producer.close();

    await using consumer = client.consumer({ autoOffsetReset: "earliest" });
    consumer.assign([{ topic: "turns", partition: 0 }]);
    // One fetch brings every batch; wait until all of them are buffered.
    await until(() => consumer.bufferedBytes > 0 && consumer.lag({ topic: "turns", partition: 0 }) === BigInt(batches * perBatch), 10_000, "all batches buffered");

    let turns = 0;
    const turnsAt: number[] = [];
    const tick = (): void => {
      turns++;
      if (turns < batches * 2) setImmediate(tick);
    };
    setImmediate(tick);
    let seen = 0;
    for await (const record of consumer) {
      expect(record.text()).toBe(`r${seen}`);
      turnsAt.push(turns);
      if (++seen === batches * perBatch) break;
    }
    // No turn inside a batch, at least one between two batches.
    for (let b = 0; b < batches; b++) {
      const inBatch = turnsAt.slice(b * perBatch, (b + 1) * perBatch);
      expect(new Set(inBatch).size).toBe(1);
      if (b > 0) expect(inBatch[0]).toBeGreaterThan(turnsAt[b * perBatch - 1] as number);
    }
  });
});
