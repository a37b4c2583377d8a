import { randomBytes } from "node:crypto";
import type { Acks } from "@polywire/runtime";
import { choiceFlag, integerFlag, parseCommandLine, UsageError } from "../args.js";
import { palette } from "../colors.js";
import type { Command, CommandIO } from "../command.js";
import { ADMIN_FLAGS, ADMIN_FLAGS_USAGE, BROKER_FLAGS, BROKER_FLAGS_USAGE, adminUrl, brokerUrl, openAdmin, openClient } from "../endpoints.js";
import { ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { bytes, grouped, printJson, table } from "../output.js";

const usage = `usage: polywire bench [flags]

A quick produce-then-consume throughput check against a running broker, with a
progress bar and a summary table. For comparisons that matter, use the
benchmarks in bench/ (they run peers side by side and repeat).

Without --topic it creates a topic polywire-bench-<random> through the admin
service and deletes it afterwards (unless --keep).

  --topic <name>           use this existing topic instead
  --records <n>            records to produce, then consume (default 100000)
  --size <bytes>           value size of each record (default 256)
  --partitions <n>         partitions of the created topic (default 3)
  --acks <a>               none, leader or all (default all)
  --compression <c>        none (default), gzip, snappy, lz4, zstd
  --keep                   keep the created topic
  --json                   print the summary as JSON
${BROKER_FLAGS_USAGE}
${ADMIN_FLAGS_USAGE.split("\n").filter((l) => !l.includes("--timeout") && !l.startsWith("  --broker")).join("\n")}

examples:
  polywire bench
  polywire bench --records 1000000 --size 100 --acks leader --compression lz4
`;

const FLAGS = {
  ...BROKER_FLAGS,
  ...ADMIN_FLAGS,
  topic: { type: "string" },
  records: { type: "string" },
  size: { type: "string" },
  partitions: { type: "string" },
  acks: { type: "string" },
  compression: { type: "string" },
  keep: { type: "boolean" },
  json: { type: "boolean" },
} as const;

interface Phase {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly mibPerSecond: number;
  /** Send-to-acknowledgement latency percentiles (produce only), ms. */
  readonly latencyMs?: { p50: number; p99: number; max: number };
}

function phase(records: number, size: number, seconds: number, latencies?: Float64Array): Phase {
  const total = records * size;
  const result: Phase = { records, bytes: total, seconds: Number(seconds.toFixed(3)), recordsPerSecond: Math.round(records / seconds), mibPerSecond: Number((total / 2 ** 20 / seconds).toFixed(2)) };
  if (latencies === undefined || latencies.length === 0) return result;
  const sorted = latencies.slice().sort();
  const at = (q: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(2));
  return { ...result, latencyMs: { p50: at(0.5), p99: at(0.99), max: at(1) } };
}

/** A progress bar line: name, bar, percent, count and rate. */
function bar(name: string, done: number, total: number, startedAt: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = done / Math.max(0.001, (performance.now() - startedAt) / 1000);
  return `${name.padEnd(8)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor((done / total) * 100)).padStart(3)}%  ${grouped(done)}/${grouped(total)}  ${grouped(Math.round(rate))} rec/s`;
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandLine(argv, FLAGS, []);
  const records = integerFlag("records", values.records, 100_000);
  const size = integerFlag("size", values.size, 256);
  const partitionCount = integerFlag("partitions", values.partitions, 3);
  if (records === 0) throw new UsageError("--records must be at least 1");
  if (partitionCount === 0) throw new UsageError("--partitions must be at least 1");
  if (values.topic !== undefined && (values.partitions !== undefined || values.keep !== undefined)) throw new UsageError("--partitions and --keep apply to the topic bench creates, not to --topic");
  const acks = choiceFlag<Acks>("acks", values.acks, ["none", "leader", "all"], "all");
  const compression = choiceFlag("compression", values.compression, ["none", "gzip", "snappy", "lz4", "zstd"] as const, "none");
  const p = palette(io.color ?? false);
  const status = values.json ? undefined : io.status;
  const interrupted = io.interrupt?.();
  const broker = brokerUrl(values);
  // Without --admin, the admin plane is the one the benchmarked broker names (PW-ADMIN-060).
  const target = { broker, admin: await adminUrl({ ...values, broker }) };

  const created = values.topic === undefined ? `polywire-bench-${randomBytes(4).toString("hex")}` : undefined;
  const topic = values.topic ?? (created as string);
  await using admin = openAdmin(target.admin, values);
  if (created !== undefined) {
    await admin.createTopic(created, { partitions: partitionCount }).catch((error: unknown) => {
      throw toCliError(error, target);
    });
  }
  try {
    const client = await openClient(values, "polywire-cli-bench", interrupted);
    try {
      const [info] = await client.metadata([topic]);
      const partitions = info?.partitions.map((x) => x.partition) ?? [];
      const starts = await client.listOffsets(partitions.map((partition) => ({ topic, partition, query: "latest" as const })));

      // Produce: one random value reused, so the client measures the path, not the random generator.
      const value = new Uint8Array(randomBytes(size));
      const latencies = new Float64Array(records);
      const producer = client.producer({ acks, compression });
      let acked = 0;
      const produceStart = performance.now();
      const drawProduce = (): void => status?.(bar("produce", acked, records, produceStart));
      drawProduce();
      const tick = setInterval(drawProduce, 100);
      try {
        const window: Promise<void>[] = [];
        for (let i = 0; i < records && !interrupted?.aborted; i++) {
          const sent = performance.now();
          window.push(producer.send({ topic, value }).then(() => {
            latencies[acked++] = performance.now() - sent;
          }));
          if (window.length >= 10_000) await Promise.all(window.splice(0, 5_000));
        }
        await Promise.all(window);
        await producer.flush();
      } finally {
        clearInterval(tick);
        await producer.close();
      }
      const produced = phase(acked, size, (performance.now() - produceStart) / 1000, latencies.subarray(0, acked));
      drawProduce();
      status?.("");

      // Consume back exactly what was produced, from the offsets before it.
      const consumer = client.consumer({ autoOffsetReset: "none", maxBufferedBytes: 64 * 2 ** 20 });
      let consumed = 0;
      const consumeStart = performance.now();
      const drawConsume = (): void => status?.(bar("consume", consumed, Math.max(1, acked), consumeStart));
      drawConsume();
      const tick2 = setInterval(drawConsume, 100);
      try {
        consumer.assign(starts.map((s) => ({ topic, partition: s.partition, from: { offset: s.offset } })));
        if (acked > 0) {
          for await (const batch of consumer.batches(interrupted === undefined ? {} : { signal: interrupted })) {
            consumed += batch.records.length;
            if (consumed >= acked) break;
          }
        }
      } finally {
        clearInterval(tick2);
        await consumer.close();
      }
      const fetched = phase(consumed, size, (performance.now() - consumeStart) / 1000);
      drawConsume();
      status?.("");

      if (values.json) {
        printJson(io, { topic, size, acks, compression, partitions: partitions.length, produce: produced, consume: fetched });
      } else {
        io.out(`${p.bold("bench")} ${topic}: ${grouped(records)} records of ${bytes(size)}, ${partitions.length} partitions, acks ${acks}, compression ${compression}`);
        const row = (name: string, ph: Phase): string[] => [name, grouped(ph.records), bytes(ph.bytes), ph.seconds.toFixed(2), grouped(ph.recordsPerSecond), ph.mibPerSecond.toFixed(2), ph.latencyMs === undefined ? "-" : ph.latencyMs.p50.toFixed(2), ph.latencyMs === undefined ? "-" : ph.latencyMs.p99.toFixed(2)];
        for (const line of table(["PHASE", "RECORDS", "DATA", "SECONDS", "RECORDS/S", "MiB/S", "P50 MS", "P99 MS"], [row("produce", produced), row("consume", fetched)], p)) io.out(line);
      }
      return interrupted?.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
    } finally {
      await client.close();
    }
  } catch (error) {
    if (interrupted?.aborted) return ExitCode.INTERRUPTED;
    throw toCliError(error, target);
  } finally {
    if (created !== undefined && !values.keep) {
      await admin.deleteTopic(created).catch((error: unknown) => io.err(p.yellow(`warning: could not delete ${created}: ${toCliError(error, target).message}; delete it with \`polywire topic delete ${created}\``)));
    }
  }
}

/** `polywire bench`: a quick produce/consume throughput check. */
export const command: Command = { name: "bench", summary: "quick produce/consume throughput check with a summary table", usage, run };
