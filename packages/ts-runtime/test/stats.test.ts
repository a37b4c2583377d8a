import { describe, expect, it } from "vitest";
import { connect, Record, type ConsumedRecord } from "../src/index.js";
import { freePort, startBroker, until } from "./harness.js";

describe("stats() counters mean what their names say", () => {
  it("errors: a clean close() with a consumer long-polling, and a seek restarting its fetch, count no error", async () => {
    const broker = await startBroker({ topics: [{ name: "quiet", partitions: 2 }] });
    try {
      const client = await connect(broker.urls[0] as string);
      const producer = client.producer({ lingerMs: 0 });
      await producer.send(Record.text("quiet", "one", { partition: 0 }));
      const consumer = client.consumer({ autoOffsetReset: "earliest", maxWaitMs: 5_000 });
      consumer.assign([{ topic: "quiet", partition: 0 }, { topic: "quiet", partition: 1 }]);
      const received: ConsumedRecord[] = [];
      const reading = (async () => {
        for await (const r of consumer) received.push(r);
      })();
      await until(() => received.length === 1, 10_000, "the record");
      // The consumer now waits in a 5 s long poll; seek restarts it, close cancels it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      consumer.seek({ topic: "quiet", partition: 0 }, { offset: 1 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.close();
      await reading;
      expect(client.stats().errors).toEqual({});
      expect(client.stats().retries).toBe(0);
    } finally {
      await broker.close();
    }
  });

  it("retries: after a broker restart, every produce request sent again is counted; errors count the failures that caused them", { timeout: 60_000 }, async () => {
    const port = await freePort();
    // Memory storage: the restarted broker has forgotten the producer id, so resends are renumbered (UNKNOWN_PRODUCER).
    const options = { listeners: [`tcp://127.0.0.1:${port}`], topics: [{ name: "restarted", partitions: 1 }], drainDeadlineMs: 300 };
    let broker = await startBroker(options);
    try {
      const client = await connect(`tcp://127.0.0.1:${port}`, { retry: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: Infinity }, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
      const producer = client.producer({ lingerMs: 2 });
      const sends: Array<Promise<unknown>> = [];
      let stop = false;
      const sending = (async () => {
        for (let i = 0; !stop; i++) {
          sends.push(producer.send(Record.text("restarted", `r${i}`)));
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await broker.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
      broker = await startBroker(options);
      await until(() => client.stats().reconnects >= 1, 10_000, "the reconnect");
      await new Promise((resolve) => setTimeout(resolve, 300));
      stop = true;
      await sending;
      await Promise.all(sends);
      await producer.close();
      const stats = client.stats();
      const failures = Object.values(stats.errors).reduce((sum, n) => sum + (n ?? 0), 0);
      // Every record was finally acknowledged, so every failed request was followed by a retry.
      expect(failures).toBeGreaterThan(0);
      expect(stats.retries).toBeGreaterThanOrEqual(failures);
      await client.close();
    } finally {
      await broker.close();
    }
  });
});
