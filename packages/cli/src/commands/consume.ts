import type { Client, ConsumedRecord, StartPosition } from "@polywire/runtime";
import { choiceFlag, integerFlag, parseCommandLine, timeFlag, UsageError } from "../args.js";
import type { Command, CommandIO } from "../command.js";
import { BROKER_FLAGS, BROKER_FLAGS_USAGE, brokerUrl, openClient } from "../endpoints.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { toCliError } from "../failures.js";
import { printJson } from "../output.js";

const usage = `usage: polywire consume <topic> [flags]

Reads records of a topic and prints them. Without --follow it stops at the
end of the log as it was when it started; with --follow it waits for new
records until interrupted (Ctrl-C) or --count is reached.

  --from <position>        earliest (default), latest, an offset, or @ and a time
                           (Unix ms or ISO 8601): the first record at or after it
  --partition <n>          read only this partition, repeatable (default: all)
  --count <n>              stop after n records
  --follow                 keep waiting for new records
  --group <group>          consume as a member of a consumer group: members share the
                           topic's partitions, each record goes to one of them, and
                           processed offsets are committed (every 5 s and on exit);
                           partitions without a committed offset start at --from
                           (earliest or latest); runs until interrupted or --count
                           (exits 6 against a broker without consumer groups)
  --json                   one JSON object per line (JSON lines): topic, partition,
                           offset (a decimal string), timestamp, key, value, headers,
                           typeId; binary keys/values as keyBase64/valueBase64
                           (the same as --format json)
  --format <f>             text (default): each value as a line of UTF-8 text
                           json: as --json
                           raw: each value's bytes as they are, then --delimiter
  --delimiter <s>          raw: written after each value (default "\\n"; "" for none)
${BROKER_FLAGS_USAGE}

examples:
  polywire consume events
  polywire consume events --from @2026-01-31T12:00:00Z --json | jq .value
  polywire consume events --partition 0 --from 1000 --count 10
  polywire consume events --from latest --follow
  polywire consume events --group billing --count 100
`;

const FLAGS = {
  ...BROKER_FLAGS,
  from: { type: "string" },
  partition: { type: "string", multiple: true },
  count: { type: "string" },
  follow: { type: "boolean" },
  group: { type: "string" },
  json: { type: "boolean" },
  format: { type: "string" },
  delimiter: { type: "string" },
} as const;

function parseFrom(value: string | undefined): StartPosition {
  if (value === undefined || value === "earliest" || value === "latest") return value ?? "earliest";
  if (/^(0|[1-9][0-9]*)$/.test(value)) return { offset: BigInt(value) };
  if (value.startsWith("@")) return { timestamp: timeFlag("from", value.slice(1)) };
  throw new UsageError(`--from must be earliest, latest, an offset or @<time>, got ${JSON.stringify(value)}`);
}

const lenient = new TextDecoder();

async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, FLAGS, ["topic"]);
  const topic = positionals[0] as string;
  const format = choiceFlag("format", values.format, ["text", "json", "raw"] as const, values.json === true ? "json" : "text");
  if (values.json === true && format !== "json") throw new UsageError(`--json and --format ${format} exclude each other`);
  if (values.delimiter !== undefined && format !== "raw") throw new UsageError("--delimiter applies to --format raw only");
  const from = parseFrom(values.from);
  if (typeof from === "object" && "offset" in from && values.partition === undefined) throw new UsageError("--from <offset> needs --partition: offsets are per partition");
  const count = values.count === undefined ? undefined : integerFlag("count", values.count, 0);
  const only = values.partition?.map((p) => integerFlag("partition", p, 0));
  if (values.group !== undefined) {
    if (only !== undefined) throw new UsageError("--group and --partition exclude each other: the group assigns the partitions");
    if (typeof from === "object") throw new UsageError("--group takes --from earliest or latest: the start of partitions the group has no committed offset for");
  }
  const delimiter = new TextEncoder().encode(values.delimiter ?? "\n");
  const write = io.write ?? ((bytes: Uint8Array) => io.out(lenient.decode(bytes)));
  const target = { broker: brokerUrl(values) };
  const interrupted = io.interrupt?.();
  if (count === 0) return ExitCode.OK;

  const client = await openClient(values, "polywire-cli-consume", interrupted).catch((error: unknown) => {
    throw toCliError(error, target);
  });
  // The client redials for as long as it is open: say so, instead of waiting in silence.
  client.on("reconnecting", (attempt, _delayMs, error) => {
    if (attempt === 1) io.err(`polywire consume: ${error.message}; reconnecting until interrupted`);
  });
  client.on("state", (state, previous) => {
    if (state === "ready" && previous === "reconnecting") io.err(`polywire consume: reconnected to ${client.url ?? target.broker}`);
  });
  const print = (record: ConsumedRecord): void => {
    if (format === "json") printJson(io, record);
    else if (format === "raw") {
      if (record.value !== null) write(record.value);
      write(delimiter);
    } else io.out(record.value === null ? "" : lenient.decode(record.value));
  };
  if (values.group !== undefined) {
    try {
      return await consumeAsGroup(client, { topic, group: values.group, from: from as "earliest" | "latest", count, print }, interrupted);
    } catch (error) {
      if (interrupted?.aborted) return ExitCode.INTERRUPTED;
      throw toCliError(error, target);
    } finally {
      await client.close();
    }
  }
  let printed = 0;
  try {
    const [info] = await client.metadata([topic]);
    const all = info?.partitions.map((p) => p.partition) ?? [];
    for (const p of only ?? []) {
      if (!all.includes(p)) throw new CliError(`topic ${topic} has no partition ${p} (it has ${all.length})`, ExitCode.NOT_FOUND);
    }
    const partitions = only ?? all;
    // Without --follow, stop at the end of each partition as it is now.
    const ends = new Map<number, bigint>();
    const latest = await client.listOffsets(partitions.map((partition) => ({ topic, partition, query: "latest" as const })));
    for (const o of latest) ends.set(o.partition, o.offset);
    if (typeof from === "object" && "offset" in from) {
      for (const [partition, end] of ends) {
        if (BigInt(from.offset) > end) throw new CliError(`offset ${from.offset} is past the end of ${topic}/${partition}, which is ${end} (PW-LOG-015)`, ExitCode.REJECTED, "`polywire topic describe <topic>` shows each partition's start and end; --from latest waits for new records with --follow");
      }
    }
    const consumer = client.consumer({ autoOffsetReset: "none" });
    try {
      consumer.assign(partitions.map((partition) => ({ topic, partition, from })));
      const remaining = new Set(partitions);
      if (!values.follow) {
        // A partition whose start is already at its end has nothing to read.
        for (const partition of partitions) {
          if ((await consumer.position({ topic, partition }, interrupted === undefined ? {} : { signal: interrupted })) >= (ends.get(partition) ?? 0n)) remaining.delete(partition);
        }
      }
      if (!values.follow && remaining.size === 0) return ExitCode.OK;
      for await (const record of consumer.records(interrupted === undefined ? {} : { signal: interrupted })) {
        print(record);
        printed++;
        if (count !== undefined && printed >= count) break;
        if (!values.follow && record.offset + 1n >= (ends.get(record.partition) ?? 0n)) {
          remaining.delete(record.partition);
          if (remaining.size === 0) break;
        }
      }
    } finally {
      await consumer.close();
    }
  } catch (error) {
    if (interrupted?.aborted) return ExitCode.INTERRUPTED;
    throw toCliError(error, target);
  } finally {
    await client.close();
  }
  return interrupted?.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/**
 * Consumes as a member of `group` until interrupted or `count` records: the
 * group consumer commits what was printed when it closes (PW-GROUP-006: it
 * commits, then leaves), so the next member goes on from there.
 */
async function consumeAsGroup(client: Client, job: { topic: string; group: string; from: "earliest" | "latest"; count: number | undefined; print: (record: ConsumedRecord) => void }, interrupted: AbortSignal | undefined): Promise<number> {
  const consumer = client.consumer({ group: job.group, topics: [job.topic], autoOffsetReset: job.from });
  let printed = 0;
  try {
    for await (const record of consumer.records(interrupted === undefined ? {} : { signal: interrupted })) {
      job.print(record);
      printed++;
      if (job.count !== undefined && printed >= job.count) break;
    }
  } finally {
    await consumer.close();
  }
  return interrupted?.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/** `polywire consume`: print a topic's records as text, JSON lines or raw bytes. */
export const command: Command = { name: "consume", summary: "print a topic's records as text, JSON lines or raw bytes", usage, run };
