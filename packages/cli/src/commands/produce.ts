import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import type { Acks, ProducerRecord, RecordMetadata } from "@polywire/runtime";
import { choiceFlag, integerFlag, keyValueFlags, parseCommandLine, positiveNumberFlag, UsageError } from "../args.js";
import { palette } from "../colors.js";
import type { Command, CommandIO } from "../command.js";
import { BROKER_FLAGS, BROKER_FLAGS_USAGE, brokerUrl, openClient } from "../endpoints.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { bytes, grouped, printJson } from "../output.js";
import { recordFromJson } from "../record-json.js";

const usage = `usage: polywire produce <topic> [flags]

Produces records read from standard input or a file, then prints a summary.

  --file <path>            read from this file instead of standard input ("-" is stdin)
  --format <f>             lines (default): one record per line, its text the value
                           raw: the whole input is one record
                           json: one JSON object per line, as \`consume --json\` writes:
                           {"key":"k","value":"v","headers":[{"key":"h","value":"x"}],
                            "typeId":7,"timestamp":1700000000000}
                           (keyBase64/valueBase64 for binary; "topic", "partition" and
                           "offset" are ignored: the key or --partition picks the partition)
  --key <key>              key of every record (lines, raw)
  --key-separator <sep>    lines: the text before the first <sep> is the key
  --header <key=value>     header on every record, repeatable
  --type-id <n>            application type id of every record (default 0)
  --partition <n>          send every record to this partition (default: by key, murmur2)
  --rate <n>               at most n records per second (default: as fast as acks allow)
  --acks <a>               none, leader or all (default all)
  --compression <c>        none (default), gzip, snappy, lz4, zstd
  --max-message-bytes <n>  largest record batch to send (default 1048588): a larger
                           record fails before sending; the broker's --max-batch-size
                           and --max-frame-size, and the topic's max.message.bytes,
                           bound it too
  --json                   print the summary as JSON
${BROKER_FLAGS_USAGE}

examples:
  echo hello | polywire produce events
  polywire produce events --file orders.txt --key-separator : --header source=import --rate 100
  polywire consume events --json | polywire produce events-copy --format json
`;

const FLAGS = {
  ...BROKER_FLAGS,
  file: { type: "string" },
  format: { type: "string" },
  key: { type: "string" },
  "key-separator": { type: "string" },
  header: { type: "string", multiple: true },
  "type-id": { type: "string" },
  partition: { type: "string" },
  rate: { type: "string" },
  acks: { type: "string" },
  compression: { type: "string" },
  "max-message-bytes": { type: "string" },
  json: { type: "boolean" },
} as const;

/** Sends outstanding beyond this are awaited before reading on, bounding memory for large inputs. */
const MAX_OUTSTANDING = 10_000;

async function* lines(input: NodeJS.ReadableStream): AsyncGenerator<string> {
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of reader) yield line;
  } finally {
    reader.close();
  }
}

async function readAll(input: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, FLAGS, ["topic"]);
  const topic = positionals[0] as string;
  const format = choiceFlag("format", values.format, ["lines", "raw", "json"] as const, "lines");
  const acks = choiceFlag<Acks>("acks", values.acks, ["none", "leader", "all"], "all");
  const compression = choiceFlag("compression", values.compression, ["none", "gzip", "snappy", "lz4", "zstd"] as const, "none");
  const rate = positiveNumberFlag("rate", values.rate);
  const headers = Object.entries(keyValueFlags("header", values.header));
  const typeId = values["type-id"] === undefined ? undefined : integerFlag("type-id", values["type-id"], 0);
  const partition = values.partition === undefined ? undefined : integerFlag("partition", values.partition, 0);
  const maxMessageBytes = values["max-message-bytes"] === undefined ? undefined : integerFlag("max-message-bytes", values["max-message-bytes"], 0);
  const separator = values["key-separator"];
  if (separator === "") throw new UsageError("--key-separator must not be empty");
  if (separator !== undefined && format !== "lines") throw new UsageError("--key-separator applies to --format lines only");
  if (values.key !== undefined && separator !== undefined) throw new UsageError("--key and --key-separator exclude each other");
  if (format === "json" && (values.key !== undefined || headers.length > 0 || typeId !== undefined)) throw new UsageError("with --format json, keys, headers and type ids come from each line");
  const input = values.file === undefined || values.file === "-" ? (io.stdin ?? process.stdin) : createReadStream(values.file);
  if (values.file !== undefined && values.file !== "-") {
    await new Promise<void>((resolve, reject) => {
      (input as ReturnType<typeof createReadStream>).once("open", () => resolve()).once("error", (error) => reject(new CliError(`cannot read ${values.file}: ${error.message}`, ExitCode.USAGE)));
    });
  }

  const interrupted = io.interrupt?.();
  const p = palette(io.color ?? false);
  const target = { broker: brokerUrl(values) };
  const started = performance.now();
  let produced = 0;
  let sentBytes = 0;
  let read = 0;
  const partitions = new Map<number, bigint>();
  const failures: unknown[] = [];
  const outstanding: Promise<void>[] = [];

  const build = (value: string | Uint8Array, key: string | undefined): ProducerRecord => ({
    topic,
    value,
    ...(key === undefined ? {} : { key }),
    ...(headers.length === 0 ? {} : { headers }),
    ...(typeId === undefined ? {} : { typeId }),
    ...(partition === undefined ? {} : { partition }),
  });

  async function* records(): AsyncGenerator<ProducerRecord> {
    if (format === "raw") {
      yield build(await readAll(input), values.key);
      return;
    }
    for await (const line of lines(input)) {
      read++;
      if (format === "json") {
        if (line.trim() === "") continue;
        try {
          const record = recordFromJson(line, topic, `line ${read}`);
          yield partition === undefined ? record : { ...record, partition };
        } catch (error) {
          if (error instanceof UsageError) throw new CliError(error.message, ExitCode.USAGE, "records before this line were produced; fix it and produce the rest");
          throw error;
        }
      } else if (separator !== undefined) {
        const at = line.indexOf(separator);
        if (at < 0) throw new CliError(`line ${read}: no key separator ${JSON.stringify(separator)}`, ExitCode.USAGE, "records before this line were produced; fix it and produce the rest");
        yield build(line.slice(at + separator.length), line.slice(0, at));
      } else {
        yield build(line, values.key);
      }
    }
  }

  const client = await openClient(values, "polywire-cli-produce").catch((error: unknown) => {
    throw toCliError(error, target);
  });
  try {
    const producer = client.producer({ acks, compression, ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }) });
    try {
      for await (const record of records()) {
        if (interrupted?.aborted || failures.length > 0) break;
        if (rate !== undefined) {
          const due = started + (produced / rate) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait, undefined, interrupted === undefined ? {} : { signal: interrupted }).catch(() => undefined);
          if (interrupted?.aborted) break;
        }
        const size = (typeof record.value === "string" ? Buffer.byteLength(record.value) : (record.value?.length ?? 0));
        produced++;
        sentBytes += size;
        outstanding.push(producer.send(record).then(
          (meta: RecordMetadata) => {
            const last = partitions.get(meta.partition);
            if (last === undefined || meta.offset > last) partitions.set(meta.partition, meta.offset);
          },
          (error: unknown) => {
            failures.push(error);
          },
        ));
        if (outstanding.length >= MAX_OUTSTANDING) await Promise.all(outstanding.splice(0, MAX_OUTSTANDING / 2));
      }
      await producer.flush();
      await Promise.all(outstanding);
    } finally {
      await producer.close();
    }
  } finally {
    await client.close();
  }
  if (failures.length > 0) {
    const failure = toCliError(failures[0], target);
    const acknowledged = produced - failures.length;
    throw new CliError(`${failure.message} (${failures.length} of ${produced} records failed; ${acknowledged} were acknowledged)`, "exitCode" in failure ? failure.exitCode : ExitCode.FAILURE, "hint" in failure ? failure.hint : undefined);
  }
  const seconds = (performance.now() - started) / 1000;
  const summary = { topic, records: produced, bytes: sentBytes, seconds: Number(seconds.toFixed(3)), lastOffsets: Object.fromEntries([...partitions].sort(([a], [b]) => a - b).map(([k, v]) => [String(k), v.toString()])) };
  if (values.json) printJson(io, summary);
  else io.out(`${p.green("produced")} ${grouped(produced)} record${produced === 1 ? "" : "s"} (${bytes(sentBytes)}) to ${topic} in ${seconds.toFixed(2)} s`);
  return interrupted?.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/** `polywire produce`: records from standard input or a file. */
export const command: Command = { name: "produce", summary: "produce records from standard input or a file", usage, run };
