#!/usr/bin/env node
// Before/after of a client change in one run: the @polywire/runtime sources
// of a git revision against the working tree's, both loaded in this process
// and talking to the same broker (memory storage, through the CLI), the two
// interleaved in every round.
//
//   node --expose-gc bench/log/ab.mjs --base <git-revision> [--runs 6] [--seconds 2]
//                                     [--only p100,p1k,c,cb,lat]
//
// p100 / p1k: produce 100 B / 1 KiB records (send per record, acks leader);
// c / cb: consume 200 000 stored 100 B records per record / with batches();
// lat: produce-ack p50 in µs of one 100 B record in flight (linger 0, acks
// leader), as run.mjs's latency section measures it.
// Prints min / median / max per side (records/s; µs for lat) and the ratio of medians.
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
    only: { type: "string", default: "p100,p1k,c,cb" },
  },
});
if (args.base === undefined) throw new Error("--base <git-revision> is required");
const RUNS = Number(args.runs);
const RUN_MS = Number(args.seconds) * 1000;
const root = fileURLToPath(new URL("../../", import.meta.url));
const revision = execFileSync("git", ["rev-parse", "--short", args.base], { cwd: root, encoding: "utf8" }).trim();
// Inside the checkout, so that the copy's imports resolve to the same node_modules.
const copy = join(root, "bench/out", `ab-${revision}`);
rmSync(copy, { recursive: true, force: true });
mkdirSync(copy, { recursive: true });
execFileSync("sh", ["-c", `git archive ${revision} packages/ts-runtime/src | tar -x -C "${copy}"`], { cwd: root });

const servers = await import("./servers.mjs");
const { latency, pump, spread } = await import("./measure.mjs");
const sides = {
  [revision]: await import(join(copy, "packages/ts-runtime/src/index.ts")),
  "working tree": await import("@polywire/runtime"),
};
const RECORDS = 200_000;
const value100 = new Uint8Array(100).fill(0x61);
const value1k = new Uint8Array(1024).fill(0x62);

const dir = await servers.scratch("ab");
const broker = await servers.startPolywire({ storage: "memory", socketDir: dir });
const admin = sides["working tree"].createAdminClient(broker.http);
const clients = {};
try {
  for (const [name, runtime] of Object.entries(sides)) clients[name] = await runtime.connect(broker.tcp);
  await admin.createTopic("consume", { partitions: 1 });
  await admin.createTopic("latency", { partitions: 1 });
  {
    const producer = clients["working tree"].producer({ acks: "leader" });
    const batch = new Array(1000).fill({ topic: "consume", value: value100, partition: 0 });
    const sent = [];
    for (let n = 0; n < RECORDS; n += 1000) sent.push(producer.sendBatch(batch));
    await Promise.all(sent);
    await producer.close();
  }
  let topics = 0;
  const produce = async (client, value) => {
    const topic = `produce-${++topics}`;
    await admin.createTopic(topic, { partitions: 1 });
    const producer = client.producer({ acks: "leader" });
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
    await admin.deleteTopic(topic);
    return result.rate;
  };
  const consume = async (client, batches) => {
    const started = performance.now();
    let total = 0;
    do {
      const consumer = client.consumer({ autoOffsetReset: "earliest" });
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
  const ackLatency = async (client) => {
    const producer = client.producer({ acks: "leader", lingerMs: 0 });
    const record = { topic: "latency", value: value100, partition: 0 };
    await producer.send(record);
    const { p50 } = await latency({ durationMs: RUN_MS, once: () => producer.send(record) });
    await producer.close();
    return p50;
  };
  const tests = {
    p100: (c) => produce(c, value100), p1k: (c) => produce(c, value1k), c: (c) => consume(c, false), cb: (c) => consume(c, true), lat: ackLatency,
  };
  const only = args.only.split(",");
  const results = {};
  const names = Object.keys(sides);
  // Round 0 warms both sides up and is not counted.
  for (let round = 0; round <= RUNS; round++) {
    for (const test of only) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        globalThis.gc?.();
        const rate = await tests[test](clients[name]);
        if (round > 0) (results[`${test} ${name}`] ??= []).push(rate);
      }
    }
  }
  const f = (s) => `${Math.round(s.min)} / ${Math.round(s.median)} / ${Math.round(s.max)}`;
  for (const test of only) {
    const before = spread(results[`${test} ${names[0]}`]);
    const after = spread(results[`${test} ${names[1]}`]);
    const unit = test === "lat" ? "p50 µs" : "records/s";
    console.log(`${test} (${unit}): ${names[0]} ${f(before)}  working tree ${f(after)}  ratio ${(after.median / before.median).toFixed(2)}`);
  }
} finally {
  for (const client of Object.values(clients)) await client.close();
  await admin.close();
  await broker.stop();
  await servers.cleanup(dir);
  rmSync(copy, { recursive: true, force: true });
}
