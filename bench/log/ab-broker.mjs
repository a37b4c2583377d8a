#!/usr/bin/env node
// Before/after of a broker change in one run: the broker sources
// (packages/broker/src) of a git revision and of the working tree, each run
// as its own process (memory storage, TCP), driven by one working-tree
// client process that interleaves the two in every round.
//
//   node --expose-gc bench/log/ab-broker.mjs --base <git-revision> [--runs 6] [--seconds 2]
//                                            [--only p100,p1k,c,cb,lat]
//
// The tests are ab.mjs's: p100 / p1k produce 100 B / 1 KiB records (send per
// record, acks leader); c / cb consume 200 000 stored 100 B records per
// record / with batches(); lat the produce-ack p50 in µs of one 100 B
// record in flight (linger 0). Only the broker differs between the sides:
// both import the working tree's other packages (runtime, codec, proto).
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { register } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

register(
  "data:text/javascript," +
    encodeURIComponent(
      "export async function resolve(specifier, context, next) {" +
        " return next(specifier, { ...context, conditions: [...context.conditions, '@polywire/source'] }); }",
    ),
);
const { register: registerTsx } = await import("tsx/esm/api");
registerTsx();

const { values: args } = parseArgs({
  options: {
    base: { type: "string" },
    runs: { type: "string", default: "6" },
    seconds: { type: "string", default: "2" },
    only: { type: "string", default: "p100,c,cb,lat" },
  },
});
if (args.base === undefined) throw new Error("--base <git-revision> is required");
const RUNS = Number(args.runs);
const RUN_MS = Number(args.seconds) * 1000;
const root = fileURLToPath(new URL("../../", import.meta.url));
const revision = execFileSync("git", ["rev-parse", "--short", args.base], { cwd: root, encoding: "utf8" }).trim();
// Inside the checkout, so that the copy's imports resolve to the same node_modules.
const copy = join(root, "bench/out", `ab-broker-${revision}`);
rmSync(copy, { recursive: true, force: true });
mkdirSync(copy, { recursive: true });
execFileSync("sh", ["-c", `git archive ${revision} packages/broker/src | tar -x -C "${copy}"`], { cwd: root });

const servers = await import("./servers.mjs");
const { latency, pump, spread } = await import("./measure.mjs");
const { connect, createAdminClient } = await import("@polywire/runtime");
const RECORDS = 200_000;
const value100 = new Uint8Array(100).fill(0x61);
const value1k = new Uint8Array(1024).fill(0x62);

const brokers = {};
const sides = {};
try {
  brokers[revision] = await servers.startBrokerAt({ entry: join(copy, "packages/broker/src/index.ts") });
  brokers["working tree"] = await servers.startBrokerAt({ entry: join(root, "packages/broker/src/index.ts") });
  for (const [name, broker] of Object.entries(brokers)) {
    const side = { client: await connect(broker.tcp), admin: createAdminClient(broker.http), topics: 0 };
    sides[name] = side;
    await side.admin.createTopic("consume", { partitions: 1 });
    await side.admin.createTopic("latency", { partitions: 1 });
    const producer = side.client.producer({ acks: "leader" });
    const batch = new Array(1000).fill({ topic: "consume", value: value100, partition: 0 });
    const sent = [];
    for (let n = 0; n < RECORDS; n += 1000) sent.push(producer.sendBatch(batch));
    await Promise.all(sent);
    await producer.close();
  }
  const produce = async (side, value) => {
    const topic = `produce-${++side.topics}`;
    await side.admin.createTopic(topic, { partitions: 1 });
    const producer = side.client.producer({ acks: "leader" });
    const record = { topic, value, partition: 0 };
    const result = await pump({
      durationMs: RUN_MS,
      windowRecords: 32_768,
      sliceRecords: 1024,
      slice: (n) => {
        let last;
        for (let i = 0; i < n; i++) last = producer.send(record);
        return last;
      },
    });
    await producer.close();
    await side.admin.deleteTopic(topic);
    return result.rate;
  };
  const consume = async (side, batches) => {
    const started = performance.now();
    let total = 0;
    do {
      const consumer = side.client.consumer({ autoOffsetReset: "earliest" });
      consumer.assign([{ topic: "consume", partition: 0, from: "earliest" }]);
      let seen = 0;
      if (batches) {
        for await (const batch of consumer.batches()) {
          seen += batch.records.length;
          if (seen >= RECORDS) break;
        }
      } else {
        for await (const record of consumer) {
          if (record.value.byteLength !== 100) throw new Error("wrong record");
          if (++seen === RECORDS) break;
        }
      }
      await consumer.close();
      total += seen;
    } while (performance.now() - started < RUN_MS);
    return total / ((performance.now() - started) / 1000);
  };
  const ackLatency = async (side) => {
    const producer = side.client.producer({ acks: "leader", lingerMs: 0 });
    const record = { topic: "latency", value: value100, partition: 0 };
    await producer.send(record);
    const { p50 } = await latency({ durationMs: RUN_MS, once: () => producer.send(record) });
    await producer.close();
    return p50;
  };
  const tests = {
    p100: (s) => produce(s, value100), p1k: (s) => produce(s, value1k), c: (s) => consume(s, false), cb: (s) => consume(s, true), lat: ackLatency,
  };
  const only = args.only.split(",");
  const results = {};
  const names = Object.keys(sides);
  // Round 0 warms both sides up and is not counted.
  for (let round = 0; round <= RUNS; round++) {
    for (const test of only) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        globalThis.gc?.();
        const value = await tests[test](sides[name]);
        if (round > 0) (results[`${test} ${name}`] ??= []).push(value);
      }
    }
  }
  const f = (s) => `${Math.round(s.min)} / ${Math.round(s.median)} / ${Math.round(s.max)}`;
  for (const test of only) {
    const before = spread(results[`${test} ${names[0]}`]);
    const after = spread(results[`${test} ${names[1]}`]);
    const unit = test === "lat" ? "p50 µs" : "records/s";
    console.log(`${test} (${unit}): broker ${names[0]} ${f(before)}  working tree ${f(after)}  ratio ${(after.median / before.median).toFixed(2)}`);
  }
} finally {
  for (const side of Object.values(sides)) {
    await side.client.close();
    await side.admin.close();
  }
  for (const broker of Object.values(brokers)) await broker.stop();
  rmSync(copy, { recursive: true, force: true });
}
