import { Acks, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch, recordDifference, type StoredRecord, type TestRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encode } from "../../wire/messages.js";
import { expectBrokerError, expectServing, sleep } from "../expect.js";
import { highWatermark, produce, readAll } from "./io.js";
import { edgeRecords, numbered, utf8 } from "./records.js";

/** Checks that `stored` holds `expected` from offset `from`, field by field. */
export function checkRecords(clause: string, stored: readonly StoredRecord[], expected: readonly TestRecord[], from: bigint, what: string): void {
  checkEqual(clause, stored.length, expected.length, `number of records ${what}`);
  stored.forEach((r, i) => {
    checkEqual("PW-LOG-030", r.offset, from + BigInt(i), `offset of record ${i} ${what}`);
    const diff = recordDifference(r, expected[i] as TestRecord);
    check(diff === "key" || diff === "value" ? "PW-BATCH-013" : diff?.startsWith("header") === true ? "PW-BATCH-012" : diff === "type id" ? "PW-BATCH-014" : clause, diff === undefined, `record ${i} ${what} differs in its ${diff}`);
  });
}

const roundTrip: ConformanceCase = {
  id: "log/produce-fetch",
  title: "Produced batches get consecutive offsets from the high watermark and come back from fetch byte for byte (base offset assigned), every record field intact, with every acks mode",
  plane: "log",
  clauses: ["PW-LOG-001", "PW-LOG-002", "PW-LOG-005", "PW-LOG-006", "PW-LOG-009", "PW-LOG-031", "PW-BATCH-004", "PW-BATCH-012", "PW-BATCH-013", "PW-BATCH-014", "PW-COMP-009", "PW-LOG-011"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const reader = await ctx.connect();
    const now = BigInt(Date.now());
    const batches: Array<{ records: TestRecord[]; acks: Acks; baseOffset?: bigint }> = [
      { records: edgeRecords(now), acks: Acks.LEADER },
      { records: numbered("unspecified", 3, now), acks: Acks.UNSPECIFIED, baseOffset: 777n },
      { records: numbered("all", 5, now), acks: Acks.ALL },
      { records: [{ key: null, value: utf8("one"), headers: [], typeId: 9n, timestamp: now }], acks: Acks.LEADER, baseOffset: -5n },
    ];
    const sent: Uint8Array[] = [];
    let expectedOffset = 0n;
    const all: TestRecord[] = [];
    for (const b of batches) {
      const bytes = encodeBatch(b.records, b.baseOffset === undefined ? {} : { baseOffset: b.baseOffset });
      sent.push(bytes.slice());
      const { message } = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: b.acks }, bytes);
      checkEqual("PW-LOG-009", message.errorCode, ErrorCode.UNSPECIFIED, "ProduceResponse.error_code");
      checkEqual("PW-LOG-002", message.baseOffset, expectedOffset, `base offset of batch ${sent.length} (acks ${Acks[b.acks]})`);
      // Visible to other connections as soon as it is acknowledged (PW-LOG-005, PW-LOG-006).
      const hw = await highWatermark(reader, topic, 0);
      check(b.acks === Acks.ALL ? "PW-LOG-006" : "PW-LOG-005", hw >= expectedOffset + BigInt(b.records.length), `high watermark ${hw} right after the ack of records up to ${expectedOffset + BigInt(b.records.length) - 1n}`);
      expectedOffset += BigInt(b.records.length);
      all.push(...b.records);
    }
    const { records, batches: stored } = await readAll(reader, topic, 0);
    checkRecords("PW-LOG-031", records, all, 0n, "read back");
    checkEqual("PW-COMP-009", stored.length, sent.length, "number of stored batches");
    let base = 0n;
    stored.forEach((bytes, i) => {
      const expected = (sent[i] as Uint8Array).slice();
      new DataView(expected.buffer).setBigInt64(0, base);
      check("PW-BATCH-004", new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(0) === base, `stored batch ${i} has base_offset ${new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(0)}, expected the assigned ${base}`);
      check("PW-COMP-009", Buffer.from(bytes).equals(Buffer.from(expected)), `stored batch ${i} differs from the produced bytes beyond base_offset`);
      base += BigInt(batches[i]?.records.length ?? 0);
    });
    // Fetching again later gives identical records (PW-LOG-031).
    await sleep(50);
    const again = await readAll(reader, topic, 0);
    checkRecords("PW-LOG-031", again.records, all, 0n, "read a second time");
  },
};

const acksNone: ConformanceCase = {
  id: "log/acks-none",
  title: "A produce with ACKS_NONE gets no ProduceResponse, and its batch is appended",
  plane: "log",
  clauses: ["PW-LOG-004", "PW-LIM-002"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(session.send(FrameKind.PRODUCE_REQUEST, encode(ProduceRequestSchema, { topic, partition: 0, acks: Acks.NONE }), encodeBatch(numbered(`none-${i}`, 2))));
    }
    // A failing ACKS_NONE produce may get an Error (PW-LOG-004): a missing topic.
    const failing = session.send(FrameKind.PRODUCE_REQUEST, encode(ProduceRequestSchema, { topic: `${topic}-missing`, partition: 0, acks: Acks.NONE }), encodeBatch(numbered("lost", 1)));
    session.expectAnswer(failing, FrameKind.PRODUCE_REQUEST);
    await expectServing(session, "PW-LOG-004", "after ACKS_NONE produces");
    await sleep(100);
    const answers = session.received.filter((f) => ids.includes(f.correlationId));
    check("PW-LOG-004", answers.length === 0, `the broker answered ${answers.length} ACKS_NONE produces`);
    const errorForFailing = session.received.filter((f) => f.correlationId === failing);
    check("PW-LOG-004", errorForFailing.every((f) => f.kind === FrameKind.ERROR), "a failing ACKS_NONE produce may get an Error frame, nothing else");
    checkEqual("PW-LOG-004", await highWatermark(session, topic, 0), 10n, "high watermark after five 2-record ACKS_NONE produces");
  },
};

const unknownTargets: ConformanceCase = {
  id: "log/unknown-topic-partition",
  title: "Producing to a missing topic is UNKNOWN_TOPIC, to a partition beyond the count UNKNOWN_PARTITION; an explicit partition is honoured",
  plane: "log",
  clauses: ["PW-LOG-003", "PW-PART-004", "PW-SESS-012"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(3);
    const session = await ctx.connect();
    const batch = (): Uint8Array => encodeBatch(numbered("u", 1));
    await expectBrokerError("PW-LOG-003", session.call(FrameKind.PRODUCE_REQUEST, { topic: `${topic}-nope`, partition: 0, acks: Acks.LEADER }, batch()), ErrorCode.UNKNOWN_TOPIC, "produce to a missing topic");
    await expectBrokerError("PW-PART-004", session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 3, acks: Acks.LEADER }, batch()), ErrorCode.UNKNOWN_PARTITION, "produce to partition 3 of a 3-partition topic");
    await produce(session, topic, 2, numbered("explicit", 2));
    checkEqual("PW-PART-004", await highWatermark(session, topic, 2), 2n, "high watermark of the partition named explicitly");
    checkEqual("PW-PART-004", await highWatermark(session, topic, 0) + await highWatermark(session, topic, 1), 0n, "records in the partitions not named");
  },
};

const pipelinedOrder: ConformanceCase = {
  id: "log/pipelined-order",
  title: "Produce requests pipelined on one connection are appended in the order they were sent",
  plane: "log",
  clauses: ["PW-LOG-007", "PW-LOG-002", "PW-LOG-030"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    for (let round = 0; round < 4; round++) {
      const pending = Array.from({ length: 30 }, (_, i) => session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, encodeBatch(numbered(`r${round}-b${i}`, 1 + (i % 3)))));
      const answers = await Promise.all(pending);
      for (let i = 1; i < answers.length; i++) {
        const prev = (answers[i - 1] as (typeof answers)[number]).message.baseOffset;
        const cur = (answers[i] as (typeof answers)[number]).message.baseOffset;
        check("PW-LOG-007", cur === prev + BigInt(1 + ((i - 1) % 3)), `pipelined batch ${i} of round ${round} landed at ${cur}, after batch ${i - 1} at ${prev}`);
      }
    }
    const { records } = await readAll(session, topic, 0);
    const values = records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array(0)));
    const expected = Array.from({ length: 4 }, (_, round) => Array.from({ length: 30 }, (_, i) => Array.from({ length: 1 + (i % 3) }, (_, j) => `r${round}-b${i}-${j}`))).flat(2);
    checkEqual("PW-LOG-007", values, expected, "values in log order");
  },
};

/** Produce (§7.1). */
export const produceCases: readonly ConformanceCase[] = [roundTrip, acksNone, unknownTargets, pipelinedOrder];
