import { OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { codeName } from "../../wire/messages.js";
import { produce } from "./io.js";
import { utf8 } from "./records.js";

const listOffsets: ConformanceCase = {
  id: "log/list-offsets",
  title: "ListOffsets answers EARLIEST with the log start, LATEST with the high watermark (both with timestamp -1), TIMESTAMP with the smallest offset at or after the time; one result per partition in order, errors with -1",
  plane: "log",
  clauses: ["PW-LOG-020", "PW-LOG-021", "PW-LOG-024", "PW-COMPAT-004"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(2);
    const session = await ctx.connect();
    // Timestamps out of order across and within batches: the answer is the smallest offset, not the first batch by time.
    const t0 = 1_700_000_000_000n;
    const stamps = [[50n, 10n, 30n], [20n, 80n], [60n, 5n]];
    for (const batch of stamps) {
      await produce(session, topic, 0, batch.map((d) => ({ key: null, value: utf8(`t${d}`), headers: [], typeId: 0n, timestamp: t0 + d })));
    }
    const all = stamps.flat();
    const expectFor = (t: bigint): [bigint, bigint] => {
      const i = all.findIndex((d) => t0 + d >= t);
      return i < 0 ? [-1n, -1n] : [BigInt(i), t0 + (all[i] as bigint)];
    };
    const queries = [0n, 10n, 11n, 25n, 31n, 51n, 79n, 80n, 81n].map((d) => t0 + d);
    const partitions = [
      { topic, partition: 0, spec: OffsetSpec.EARLIEST, timestampMs: 0n },
      { topic, partition: 0, spec: OffsetSpec.LATEST, timestampMs: 0n },
      ...queries.map((t) => ({ topic, partition: 0, spec: OffsetSpec.TIMESTAMP, timestampMs: t })),
      { topic, partition: 1, spec: OffsetSpec.LATEST, timestampMs: 0n },
      { topic, partition: 0, spec: OffsetSpec.UNSPECIFIED, timestampMs: 0n },
      { topic, partition: 0, spec: 77 as OffsetSpec, timestampMs: 0n },
      { topic: `${topic}-missing`, partition: 0, spec: OffsetSpec.LATEST, timestampMs: 0n },
      { topic, partition: 5, spec: OffsetSpec.EARLIEST, timestampMs: 0n },
    ];
    const { message } = await session.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions });
    checkEqual("PW-LOG-024", message.partitions.length, partitions.length, "ListOffsets results");
    message.partitions.forEach((r, i) => {
      const p = partitions[i] as (typeof partitions)[number];
      checkEqual("PW-LOG-024", [r.topic, r.partition], [p.topic, p.partition], `result ${i} (request order)`);
    });
    const r = message.partitions;
    checkEqual("PW-LOG-020", [r[0]?.errorCode, r[0]?.offset], [ErrorCode.UNSPECIFIED, 0n], "EARLIEST");
    checkEqual("PW-LOG-020", [r[1]?.errorCode, r[1]?.offset], [ErrorCode.UNSPECIFIED, BigInt(all.length)], "LATEST");
    checkEqual("PW-LOG-020", [r[0]?.timestampMs, r[1]?.timestampMs], [-1n, -1n], "timestamp_ms of EARLIEST and LATEST (only TIMESTAMP reports one)");
    queries.forEach((t, i) => {
      const got = r[2 + i];
      checkEqual("PW-LOG-021", [got?.offset, got?.timestampMs], expectFor(t), `TIMESTAMP t0+${t - t0} over timestamps ${all.join(",")}`);
    });
    const tail = r.slice(2 + queries.length);
    checkEqual("PW-LOG-020", tail[0]?.offset, 0n, "LATEST of an empty partition");
    const codes = tail.slice(1).map((x) => codeName(x.errorCode));
    checkEqual("PW-LOG-024", codes, ["INVALID_ARGUMENT", "INVALID_ARGUMENT", "UNKNOWN_TOPIC", "UNKNOWN_PARTITION"].map((c) => `ERROR_CODE_${c}`), "error codes of an unspecified spec, an unknown spec, a missing topic, a missing partition");
    for (const x of tail.slice(1)) checkEqual("PW-LOG-024", [x.offset, x.timestampMs], [-1n, -1n], `offset and timestamp of the ${codeName(x.errorCode)} result`);
  },
};

const metadata: ConformanceCase = {
  id: "log/metadata",
  title: "Metadata describes every topic (or exactly those named, missing ones with UNKNOWN_TOPIC), with cluster id, brokers and their URLs, partitioner murmur2, and every partition in order with a listed leader",
  plane: "log",
  clauses: ["PW-LOG-022", "PW-LOG-023", "PW-LOG-025", "PW-PART-001"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const a = await ctx.topic(3);
    const b = await ctx.topic(1);
    const session = await ctx.connect();
    await produce(session, a, 1, [{ key: null, value: utf8("m"), headers: [], typeId: 0n, timestamp: 1n }]);
    const { message: every } = await session.call(FrameKind.METADATA_REQUEST, { topics: [] });
    const names = every.topics.map((t) => t.name);
    check("PW-LOG-022", names.includes(a) && names.includes(b), `a MetadataRequest without topics lists ${names.length} topics, missing ${[a, b].filter((n) => !names.includes(n)).join(", ")}`);
    check("PW-LOG-025", every.clusterId !== "", "MetadataResponse.cluster_id is empty");
    check("PW-LOG-025", every.brokers.length > 0 && every.brokers.every((br) => br.brokerId !== "" && br.urls.length > 0), "every BrokerInfo needs an id and data-plane URLs");
    const { message: named } = await session.call(FrameKind.METADATA_REQUEST, { topics: [b, `${b}-missing`, a] });
    checkEqual("PW-LOG-022", named.topics.map((t) => t.name), [b, `${b}-missing`, a], "topics of a MetadataRequest naming three");
    checkEqual("PW-LOG-022", codeName(named.topics[1]?.errorCode ?? 0), codeName(ErrorCode.UNKNOWN_TOPIC), "error of the missing topic");
    const leaders = new Set(every.brokers.map((br) => br.brokerId));
    for (const t of [named.topics[0], named.topics[2]]) {
      checkEqual("PW-PART-001", t?.partitioner, "murmur2", `partitioner of ${t?.name}`);
      checkEqual("PW-LOG-023", t?.partitions.map((p) => p.partition), Array.from({ length: t?.name === a ? 3 : 1 }, (_, i) => i), `partitions of ${t?.name}, in order`);
      for (const p of t?.partitions ?? []) check("PW-LOG-025", leaders.has(p.leaderId), `partition ${p.partition} of ${t?.name} names leader ${JSON.stringify(p.leaderId)}, not a listed broker`);
    }
    const hws = named.topics[2]?.partitions.map((p) => [p.highWatermark, p.logStartOffset]);
    checkEqual("PW-LOG-023", hws, [[0n, 0n], [1n, 0n], [0n, 0n]], `high watermarks and log start offsets of ${a}`);
  },
};

/** ListOffsets and Metadata (§7.3). */
export const offsetCases: readonly ConformanceCase[] = [listOffsets, metadata];
