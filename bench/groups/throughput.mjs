#!/usr/bin/env node
// Consumer-group throughput (issue 16): 100-byte records from a 32-partition
// topic consumed by one group member, and by a group of 10 members (10
// clients, each its own connection) in the same process, so both get the
// same CPU; interleaved round by round. Each round is a new group reading
// the whole topic from the start, join and rebalances included.
//
//   node bench/groups/throughput.mjs [--rounds 5] [--records 400000]
//
// Broker: the CLI's, memory storage, in its own process. Target: the
// group of 10 at ≥ 0.8× one member's records/s.
import { parseArgs } from "node:util";
import { connect, Record } from "@polywire/runtime";
import { createAdminClient } from "@polywire/runtime/admin";
import { spread } from "../log/measure.mjs";
import { cleanup, scratch, startPolywire } from "../log/servers.mjs";

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "5" }, records: { type: "string", default: "400000" } } });
const ROUNDS = Number(args.rounds);
const RECORDS = Number(args.records);
const PARTITIONS = 32;
const BODY = "x".repeat(100);
const log = (line) => process.stderr.write(`${line}\n`);

async function consumeAll(url, group, members) {
  const clients = await Promise.all(Array.from({ length: members }, () => connect(url, { clientId: "group-throughput" })));
  let count = 0;
  const started = performance.now();
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const consumers = clients.map((c) => c.consumer({ group, topics: ["throughput"], autoOffsetReset: "earliest", autoCommitIntervalMs: 1_000 }));
  const loops = consumers.map(async (consumer) => {
    for await (const _record of consumer) {
      if (++count === RECORDS) finish();
      if (count >= RECORDS) break;
    }
  });
  await done;
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(consumers.map((c) => c.close()));
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.close()));
  return RECORDS / seconds;
}

const dir = await scratch("group-throughput");
const broker = await startPolywire({ storage: "memory", socketDir: dir });
try {
  await createAdminClient(broker.http).createTopic("throughput", { partitions: PARTITIONS });
  const client = await connect(broker.tcp);
  const producer = client.producer({ lingerMs: 5 });
  for (let i = 0; i < RECORDS; i += 10_000) {
    const sends = [];
    for (let j = i; j < Math.min(RECORDS, i + 10_000); j++) sends.push(producer.send(Record.text("throughput", BODY, { partition: j % PARTITIONS })));
    await Promise.all(sends);
  }
  await producer.close();
  await client.close();
  log(`loaded ${RECORDS} records of 100 B over ${PARTITIONS} partitions`);
  const single = [];
  const ten = [];
  for (let round = 1; round <= ROUNDS; round++) {
    single.push(await consumeAll(broker.tcp, `one-${round}`, 1));
    ten.push(await consumeAll(broker.tcp, `ten-${round}`, 10));
    log(`round ${round}: one member ${Math.round(single.at(-1))} records/s, ten members ${Math.round(ten.at(-1))} records/s`);
  }
  const a = spread(single);
  const b = spread(ten);
  const k = (v) => `${Math.round(v / 1000)}K`;
  process.stdout.write([
    `Group consumption, ${RECORDS} records of 100 B over ${PARTITIONS} partitions, records/s min / median / max of ${ROUNDS} rounds:`,
    "",
    "| consumers | records/s | ratio of medians |",
    "| --- | --- | --- |",
    `| 1 member | ${k(a.min)} / ${k(a.median)} / ${k(a.max)} | 1.00 |`,
    `| 10 members | ${k(b.min)} / ${k(b.median)} / ${k(b.max)} | ${(b.median / a.median).toFixed(2)} |`,
    "",
  ].join("\n"));
} finally {
  await broker.stop();
  await cleanup(dir);
}
