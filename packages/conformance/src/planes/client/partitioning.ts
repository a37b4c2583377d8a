import { readFileSync } from "node:fs";
import { Capability } from "@polywire/proto/conformance/adapter";
import { decodeBatch } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { fromHex } from "../../wire/frame.js";
import { utf8 } from "../log/records.js";
import { connected, produceVia, requires } from "./io.js";

interface PartitionVector {
  readonly keyHex: string;
  readonly partitions: Readonly<Record<string, number>>;
}

const keyedPartitioning: ConformanceCase = {
  id: "client/keyed-partitioning",
  title: "A keyed record without an explicit partition goes to the partition murmur2 gives its key, exactly as Kafka's default partitioner (the spec's vectors)",
  plane: "log",
  role: "client",
  clauses: ["PW-PART-001", "PW-PART-002"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const vectors = (JSON.parse(readFileSync(new URL("../../../../../spec/vectors/partitioning.json", import.meta.url), "utf8")) as { vectors: PartitionVector[] }).vectors;
    const topic = await ctx.topic(12);
    const { observer, handle } = await connected(ctx);
    const records = vectors.map((v) => ({ key: fromHex(v.keyHex), value: utf8(v.keyHex), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) }));
    const result = await produceVia(ctx, handle, topic, records, { partition: null });
    const seen = new Map<string, number>();
    for (const p of observer.produces) for (const r of decodeBatch(p.batch).records) seen.set(Buffer.from(r.key ?? new Uint8Array(0)).toString("hex"), p.partition);
    vectors.forEach((v, i) => {
      const expected = v.partitions["12"];
      checkEqual("PW-PART-002", seen.get(v.keyHex), expected, `partition of key 0x${v.keyHex} in a 12-partition topic`);
      const outcome = result.outcomes[i]?.outcome;
      checkEqual("PW-PART-002", outcome?.case === "delivered" ? outcome.value.partition : undefined, expected, `partition reported for key 0x${v.keyHex}`);
    });
  },
};

const unknownPartitioner: ConformanceCase = {
  id: "client/unknown-partitioner",
  title: "A producer that does not know a topic's partitioner fails keyed sends without an explicit partition with a typed error, and still sends records naming their partition",
  plane: "session",
  role: "client",
  clauses: ["PW-COMPAT-008", "PW-PART-001"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(3);
    const { observer, handle } = await connected(ctx, {
      metadata: (response) => {
        for (const t of response.topics) t.partitioner = "fnv1a-from-the-future";
      },
    });
    const keyed = { key: utf8("order-1"), value: utf8("v"), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) };
    const result = await produceVia(ctx, handle, topic, [keyed], { partition: null });
    const outcome = result.outcomes[0]?.outcome;
    check("PW-COMPAT-008", outcome?.case === "error", "a keyed record was partitioned although the topic names a partitioner the client does not know");
    check("PW-COMPAT-008", observer.produces.length === 0, "the client sent a keyed record to a partition it chose without knowing the topic's partitioner");
    const explicit = await produceVia(ctx, handle, topic, [keyed], { partition: 2 });
    check("PW-COMPAT-008", explicit.outcomes[0]?.outcome.case === "delivered", "a keyed record naming its partition failed on a topic with an unknown partitioner");
  },
};

/** How the client picks partitions: murmur2 of the key, and never a partitioner it does not know. */
export const partitioningCases: readonly ConformanceCase[] = [keyedPartitioning, unknownPartitioner];
