// What ab.mjs (a runtime change) and ab-broker.mjs (a broker change) share:
// loading TypeScript sources, the arguments, a copy of one package's sources
// at a git revision, and the interleaved tests. Importing it loads the
// workspace packages from their sources (sources.mjs).
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import "./sources.mjs";

const { latency, pump, spread } = await import("./measure.mjs");

/** Records stored once and read by every consume test. */
export const RECORDS = 200_000;
const value100 = new Uint8Array(100).fill(0x61);
const value1k = new Uint8Array(1024).fill(0x62);

export const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Parses `--base`, `--runs`, `--seconds`, `--only` and extracts `sources`
 * (folders of the repository, e.g. `packages/broker/src`; those the base
 * revision does not have are skipped) at the base revision into
 * bench/out/<name>-<revision>, inside the checkout so that the copy's
 * imports resolve to the same node_modules.
 */
export function prepare({ name, sources, only }) {
  const { values: args } = parseArgs({
    options: {
      base: { type: "string" },
      runs: { type: "string", default: "6" },
      seconds: { type: "string", default: "2" },
      only: { type: "string", default: only },
    },
  });
  if (args.base === undefined) throw new Error("--base <git-revision> is required");
  const revision = execFileSync("git", ["rev-parse", "--short", args.base], { cwd: root, encoding: "utf8" }).trim();
  const copy = join(root, "bench/out", `${name}-${revision}`);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  const present = sources.split(" ").filter((path) => {
    try {
      execFileSync("git", ["cat-file", "-e", `${revision}:${path}`], { cwd: root, stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });
  execFileSync("sh", ["-c", `git archive ${revision} ${present.join(" ")} | tar -x -C "${copy}"`], { cwd: root });
  return { revision, copy, runs: Number(args.runs), runMs: Number(args.seconds) * 1000, only: args.only.split(","), remove: () => rmSync(copy, { recursive: true, force: true }) };
}

/** Creates the `consume` and `latency` topics through `admin` and stores {@link RECORDS} 100 B records in `consume`. */
export async function fillTopics(client, admin) {
  await admin.createTopic("consume", { partitions: 1 });
  await admin.createTopic("latency", { partitions: 1 });
  const producer = client.producer({ acks: "leader" });
  const batch = new Array(1000).fill({ topic: "consume", value: value100, partition: 0 });
  const sent = [];
  for (let n = 0; n < RECORDS; n += 1000) sent.push(producer.sendBatch(batch));
  await Promise.all(sent);
  await producer.close();
}

/**
 * The tests, each run against one side (`{ client, admin }`) for `runMs`:
 * p100 / p1k produce 100 B / 1 KiB records (send per record, acks leader);
 * c / cb consume the stored records per record / with batches(); lat the
 * produce-ack p50 in µs of one 100 B record in flight (linger 0).
 */
export function tests(runMs) {
  let topics = 0;
  const produce = async ({ client, admin }, value) => {
    const topic = `produce-${++topics}`;
    await admin.createTopic(topic, { partitions: 1 });
    const producer = client.producer({ acks: "leader" });
    const record = { topic, value, partition: 0 };
    const result = await pump({
      durationMs: runMs,
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
  const consume = async ({ client }, batches) => {
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
    } while (performance.now() - started < runMs);
    return total / ((performance.now() - started) / 1000);
  };
  const ackLatency = async ({ client }) => {
    const producer = client.producer({ acks: "leader", lingerMs: 0 });
    const record = { topic: "latency", value: value100, partition: 0 };
    await producer.send(record);
    const { p50 } = await latency({ durationMs: runMs, once: () => producer.send(record) });
    await producer.close();
    return p50;
  };
  return { p100: (s) => produce(s, value100), p1k: (s) => produce(s, value1k), c: (s) => consume(s, false), cb: (s) => consume(s, true), lat: ackLatency };
}

/**
 * Runs `only` on the two `sides` (before, then the working tree) for `runs`
 * rounds after an uncounted warm-up round, alternating which side goes first,
 * and prints min / median / max per side and the ratio of medians.
 */
export async function interleave({ sides, only, runs, runMs, label }) {
  const run = tests(runMs);
  const results = {};
  const names = Object.keys(sides);
  for (let round = 0; round <= runs; round++) {
    for (const test of only) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        globalThis.gc?.();
        const value = await run[test](sides[name]);
        if (round > 0) (results[`${test} ${name}`] ??= []).push(value);
      }
    }
  }
  const f = (s) => `${Math.round(s.min)} / ${Math.round(s.median)} / ${Math.round(s.max)}`;
  for (const test of only) {
    const before = spread(results[`${test} ${names[0]}`]);
    const after = spread(results[`${test} ${names[1]}`]);
    const unit = test === "lat" ? "p50 µs" : "records/s";
    console.log(`${test} (${unit}): ${label}${names[0]} ${f(before)}  working tree ${f(after)}  ratio ${(after.median / before.median).toFixed(2)}`);
  }
}
