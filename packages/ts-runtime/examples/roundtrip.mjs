/**
 * A produce/consume round trip against an embedded broker: starts a broker
 * in this process (memory storage, on memory:// or tcp://127.0.0.1), creates
 * a topic, produces records through a client, reads them back, and prints
 * what it did. Plain JavaScript for Node 20+, against the built packages
 * (`npm run build` first):
 *
 *   node packages/ts-runtime/examples/roundtrip.mjs [--tcp] [--records N]
 */
import { parseArgs } from "node:util";
import { Broker } from "@polywire/broker";
import { connect, Record } from "@polywire/runtime";

const { values } = parseArgs({
  options: {
    tcp: { type: "boolean", default: false },
    records: { type: "string", default: "10000" },
  },
});
const count = Number(values.records);
if (!Number.isInteger(count) || count < 1) throw new Error("--records must be a positive integer");

const broker = await Broker.start({
  listeners: [values.tcp ? "tcp://127.0.0.1:0" : "memory://roundtrip"],
  storage: { engine: "memory" },
  topics: [{ name: "orders", partitions: 3 }],
});
const url = broker.urls[0];
console.log(`broker ${broker.id} listening on ${url}`);

const client = await connect(url, { clientId: "roundtrip-example" });
try {
  const producer = client.producer({ acks: "all", compression: "lz4" });
  const started = performance.now();
  const sent = await producer.sendBatch(Array.from({ length: count }, (_, i) =>
    Record.json("orders", { id: i, item: `widget-${i % 7}` }, { key: `customer-${i % 50}`, headers: { source: "example" } })));
  const produceMs = performance.now() - started;
  const perPartition = [0, 1, 2].map((p) => sent.filter((m) => m.partition === p).length);
  console.log(`produced ${count} records (acks=all, lz4, keyed by customer) in ${produceMs.toFixed(0)} ms: ${perPartition.join(" / ")} per partition`);

  const consumer = client.consumer({ autoOffsetReset: "earliest" });
  consumer.assign([0, 1, 2].map((partition) => ({ topic: "orders", partition })));
  const readStarted = performance.now();
  let received = 0;
  let last;
  for await (const record of consumer) {
    last = record.json();
    if (++received === count) break;
  }
  console.log(`consumed ${received} records in ${(performance.now() - readStarted).toFixed(0)} ms; last seen order ${last?.id}`);
  for (let p = 0; p < 3; p++) {
    console.log(`  orders/${p}: position ${await consumer.position({ topic: "orders", partition: p })}, lag ${consumer.lag({ topic: "orders", partition: p })}`);
  }
  const stats = client.stats();
  console.log(`client stats: ${stats.recordsSent} sent, ${stats.recordsReceived} received, ${stats.requests.count} requests, p50 ${stats.requests.p50.toFixed(2)} ms, p99 ${stats.requests.p99.toFixed(2)} ms`);
} finally {
  await client.close(); // closes the producer and the consumer too
  await broker.close();
}
