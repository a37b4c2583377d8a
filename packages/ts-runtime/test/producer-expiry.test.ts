import { Broker, type BrokerOptions } from "@polywire/broker";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../broker/test/helpers.js";
import { connect, Record, type RecordMetadata } from "../src/index.js";
import { take, until } from "./harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** Broker storage that forgets a producer id idle for 200 ms, checked every 50 ms. */
const storages: ReadonlyArray<{ name: string; storage: () => NonNullable<BrokerOptions["storage"]> }> = [
  { name: "memory", storage: () => ({ engine: "memory", retentionCheckIntervalMs: 50, producerIdExpirationMs: 200 }) },
  {
    name: "disk",
    storage: () => {
      const dir = tempDir("producer-expiry");
      cleanups.push(() => dir.remove());
      return { engine: "disk", dir: dir.path, retentionCheckIntervalMs: 50, producerIdExpirationMs: 200 };
    },
  },
];

async function producerIdGauge(broker: Broker): Promise<string | undefined> {
  return /^polywire_producer_ids (\d+)$/m.exec(await broker.metrics.registry.metrics())?.[1];
}

describe.each(storages)("producer-id expiry ($name storage)", ({ storage }) => {
  it("PW-IDEM-011 PW-IDEM-005 PW-IDEM-008: a producer idle past the broker's expiration re-inits on UNKNOWN_PRODUCER by itself; every record is stored exactly once, in order", async () => {
    const broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: storage(), keepaliveIntervalMs: 0, topics: [{ name: "expiry", partitions: 2 }] });
    cleanups.push(() => broker.close());
    const client = await connect(broker.urls[0] as string, { retry: { initialDelayMs: 5, maxDelayMs: 50 } });
    cleanups.push(() => client.close());
    const producer = client.producer({ lingerMs: 0 });
    expect(producer.idempotent).toBe(true);
    const send = (from: number, count: number): Promise<RecordMetadata[]> =>
      Promise.all(Array.from({ length: count }, (_, i) => producer.send(Record.text("expiry", `r${from + i}`, { partition: (from + i) % 2 }))));

    const first = await send(0, 10);
    expect(broker.storage.producerCount()).toBe(1);
    expect(await producerIdGauge(broker)).toBe("1");
    // Idle: the broker forgets the id (and its sequence state on both partitions).
    await until(() => broker.storage.producerCount() === 0, 10_000, "the producer id to expire");
    expect(await producerIdGauge(broker)).toBe("0");

    const second = await send(10, 10);
    expect(broker.storage.producerCount()).toBe(1);
    // The re-init got a new id: ids 0 and 1 are spent, never handed out again (PW-IDEM-008).
    expect((await broker.storage.initProducer(-1n, -1)).producerId).toBe(2n);

    for (const partition of [0, 1]) {
      const metas = [...first, ...second].filter((m) => m.partition === partition);
      expect(metas.map((m) => m.offset)).toEqual(metas.map((_, i) => BigInt(i)));
    }
    const consumer = client.consumer({ maxWaitMs: 50 });
    consumer.assign([0, 1].map((partition) => ({ topic: "expiry", partition, from: "earliest" as const })));
    const stored = await take(consumer, 20);
    await consumer.close();
    expect(stored.map((r) => r.text()).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`).sort());
    for (const partition of [0, 1]) {
      const values = stored.filter((r) => r.partition === partition).map((r) => r.text());
      expect(values).toEqual(Array.from({ length: 10 }, (_, i) => `r${2 * i + partition}`));
    }
    await producer.close();
  });
});
