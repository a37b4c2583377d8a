import { Acks } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { codeName } from "../../wire/messages.js";
import { expectBrokerError, sleep } from "../expect.js";
import { fetchOnce, produce, splitFetch } from "./io.js";
import { numbered, utf8 } from "./records.js";

/** Produces `count` batches of one record whose value is `size` bytes; returns the batch sizes. */
async function fill(session: Parameters<typeof produce>[0], topic: string, partition: number, count: number, size: number): Promise<number[]> {
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const batch = encodeBatch([{ key: null, value: utf8(`${i}:`.padEnd(size, "z")), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) }]);
    sizes.push(batch.length);
    await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition, acks: Acks.LEADER }, batch);
  }
  return sizes;
}

const limits: ConformanceCase = {
  id: "log/fetch-max-bytes",
  title: "A fetch returns whole batches within the partition and response max_bytes, except that the first batch with data is returned whole even if larger (KIP-74); max_bytes 0 means 8 MiB",
  plane: "log",
  clauses: ["PW-LOG-013", "PW-LOG-011", "PW-LOG-012", "PW-LOG-018", "PW-LOG-010"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(2);
    const session = await ctx.connect();
    const sizes = await fill(session, topic, 0, 6, 1000);
    await fill(session, topic, 1, 3, 1000);
    const one = sizes[0] as number;
    const tiny = await fetchOnce(session, topic, 0, 0n, { partitionMaxBytes: 10 });
    checkEqual("PW-LOG-013", tiny.batches.length, 1, "batches for partition max_bytes 10 (the first must come whole)");
    const two = await fetchOnce(session, topic, 0, 0n, { partitionMaxBytes: 2 * one + 5 });
    checkEqual("PW-LOG-013", two.batches.length, 2, `batches for partition max_bytes ${2 * one + 5} (batches of ${one} bytes)`);
    const total = await fetchOnce(session, topic, 0, 2n, { maxBytes: 3 * one });
    checkEqual("PW-LOG-013", total.batches.length, 3, `batches for response max_bytes ${3 * one}`);
    checkEqual("PW-LOG-011", total.records[0]?.offset, 2n, "first offset of a fetch at offset 2");
    const unlimited = await fetchOnce(session, topic, 0, 0n, { maxBytes: 0 });
    checkEqual("PW-LOG-018", unlimited.batches.length, 6, "batches for max_bytes 0 (8 MiB)");
    // Two partitions, response max_bytes 1: the first partition with data gets its first batch whole, the second nothing.
    const partitions = [{ topic, partition: 1, offset: 0n, maxBytes: 0 }, { topic, partition: 0, offset: 0n, maxBytes: 0 }];
    const { message, frame } = await session.call(FrameKind.FETCH_REQUEST, { partitions, maxBytes: 1, maxWaitMs: 0 });
    const sections = splitFetch(message, frame.payload, partitions);
    checkEqual("PW-LOG-013", sections.map((s) => s.batches.length), [1, 0], "batches per partition for response max_bytes 1");
  },
};

const errors: ConformanceCase = {
  id: "log/fetch-errors",
  title: "Fetch errors are per partition: out-of-range offsets, missing topics and partitions get their code and no records while other partitions are served; naming a partition twice fails the whole request",
  plane: "log",
  clauses: ["PW-LOG-015", "PW-LOG-016", "PW-LOG-017", "PW-LOG-010", "PW-SESS-012"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(2);
    const session = await ctx.connect();
    await produce(session, topic, 0, numbered("e", 4));
    // Offset 5 beyond the high watermark 4, a missing topic, a missing partition, and an empty partition at its high watermark.
    const distinct = [
      { topic, partition: 0, offset: 5n, maxBytes: 0 },
      { topic: `${topic}-missing`, partition: 0, offset: 0n, maxBytes: 0 },
      { topic, partition: 9, offset: 0n, maxBytes: 0 },
      { topic, partition: 1, offset: 0n, maxBytes: 0 },
    ];
    const { message, frame } = await session.call(FrameKind.FETCH_REQUEST, { partitions: distinct, maxWaitMs: 0 });
    const sections = splitFetch(message, frame.payload, distinct);
    const codes = sections.map((s) => s.result.errorCode);
    checkEqual("PW-LOG-015", codeName(codes[0] as number), codeName(ErrorCode.OFFSET_OUT_OF_RANGE), "fetch at offset 5 with high watermark 4");
    checkEqual("PW-LOG-017", codeName(codes[1] as number), codeName(ErrorCode.UNKNOWN_TOPIC), "fetch of a missing topic");
    checkEqual("PW-LOG-017", codeName(codes[2] as number), codeName(ErrorCode.UNKNOWN_PARTITION), "fetch of a missing partition");
    checkEqual("PW-LOG-015", codeName(codes[3] as number), codeName(ErrorCode.UNSPECIFIED), "fetch of an empty partition at its high watermark 0");
    for (const s of sections) checkEqual("PW-LOG-017", s.result.recordsSize, 0, `records_size of ${s.result.topic}/${s.result.partition}`);
    checkEqual("PW-LOG-016", sections[0]?.result.highWatermark, 4n, "high_watermark reported with OFFSET_OUT_OF_RANGE");
    checkEqual("PW-LOG-016", sections[0]?.result.logStartOffset, 0n, "log_start_offset");
    const below = await fetchOnce(session, topic, 0, -1n);
    checkEqual("PW-LOG-015", codeName(below.result.errorCode), codeName(ErrorCode.OFFSET_OUT_OF_RANGE), "fetch at offset -1, below the log start offset 0");
    const atEnd = await fetchOnce(session, topic, 0, 4n);
    checkEqual("PW-LOG-015", [codeName(atEnd.result.errorCode), atEnd.records.length], [codeName(ErrorCode.UNSPECIFIED), 0], "fetch at exactly the high watermark");
  },
};

const duplicatePartition: ConformanceCase = {
  id: "log/fetch-duplicate-partition",
  title: "A FetchRequest naming the same partition twice fails as a whole with INVALID_ARGUMENT",
  plane: "log",
  clauses: ["PW-LOG-017"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    await produce(session, topic, 0, numbered("d", 2));
    const twice = [{ topic, partition: 0, offset: 0n, maxBytes: 0 }, { topic, partition: 0, offset: 1n, maxBytes: 0 }];
    await expectBrokerError("PW-LOG-017", session.call(FrameKind.FETCH_REQUEST, { partitions: twice }), ErrorCode.INVALID_ARGUMENT, "a fetch naming the same partition twice");
  },
};

const longPoll: ConformanceCase = {
  id: "log/long-poll",
  title: "A fetch waits up to max_wait_ms for min_bytes (0 means 1; max_wait_ms 0 answers at once), answers with what it has when the wait ends, and ends the wait as soon as new data reaches min_bytes",
  plane: "log",
  clauses: ["PW-LOG-014", "PW-LOG-015"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const producer = await ctx.connect();
    let started = performance.now();
    const empty = await fetchOnce(session, topic, 0, 0n, { maxWaitMs: 400, minBytes: 1 });
    let took = performance.now() - started;
    check("PW-LOG-014", took >= 350, `an empty fetch with max_wait_ms 400 answered after ${Math.round(took)} ms`);
    checkEqual("PW-LOG-014", empty.records.length, 0, "records of an empty long poll");
    started = performance.now();
    await fetchOnce(session, topic, 0, 0n, { maxWaitMs: 400, minBytes: 0 });
    took = performance.now() - started;
    check("PW-LOG-014", took >= 350, `an empty fetch with min_bytes 0 (which means 1) and max_wait_ms 400 answered after ${Math.round(took)} ms, without waiting`);
    started = performance.now();
    await fetchOnce(session, topic, 0, 0n, { maxWaitMs: 0, minBytes: 1 });
    took = performance.now() - started;
    check("PW-LOG-014", took < 1000, `an empty fetch with max_wait_ms 0 answered after ${Math.round(took)} ms instead of at once`);
    started = performance.now();
    const waiting = fetchOnce(session, topic, 0, 0n, { maxWaitMs: 5000, minBytes: 1 });
    await sleep(200);
    await produce(producer, topic, 0, numbered("wake", 1));
    const woken = await waiting;
    took = performance.now() - started;
    check("PW-LOG-014", took < 2500, `a long poll with max_wait_ms 5000 answered ${Math.round(took)} ms after start although data came at 200 ms`);
    checkEqual("PW-LOG-014", woken.records.length, 1, "records of a long poll woken by a produce");
    // min_bytes larger than what arrives: the wait runs to max_wait_ms and then answers with what there is.
    started = performance.now();
    const partial = fetchOnce(session, topic, 0, 1n, { maxWaitMs: 600, minBytes: 1_000_000 });
    await sleep(100);
    await produce(producer, topic, 0, numbered("small", 1));
    const answered = await partial;
    took = performance.now() - started;
    check("PW-LOG-014", took >= 550, `a long poll for 1 MB answered after ${Math.round(took)} ms with only a few bytes available (max_wait_ms 600)`);
    checkEqual("PW-LOG-014", answered.records.length, 1, "records of a long poll that timed out short of min_bytes");
  },
};

const clientFrameLimit: ConformanceCase = {
  id: "log/client-max-frame-size",
  title: "A fetch answer of exactly the client's Hello.max_frame_size is sent; for a client accepting one byte less, the batch that cannot fit is BATCH_TOO_LARGE for its partition, with no records",
  plane: "log",
  clauses: ["PW-LOG-018", "PW-FRAME-007", "PW-FRAME-020"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const producer = await ctx.connect();
    // One batch a little above the smallest limit a client may advertise (PW-FRAME-020).
    await fill(producer, topic, 0, 1, 70_000);
    const request = { partitions: [{ topic, partition: 0, offset: 0n }], maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20 };
    const probe = await producer.call(FrameKind.FETCH_REQUEST, request);
    // The answer's size as the broker frames it; the same fetch gets the same answer while the partition is unchanged.
    const size = 16 + probe.frame.message.length + probe.frame.payload.length + (probe.frame.checksum ? 4 : 0);
    check("PW-LOG-018", probe.frame.payload.length > 70_000, `the probe fetch returned ${probe.frame.payload.length} bytes of batches`);
    // The session's own splitter enforces the advertised limit on everything the broker sends (PW-FRAME-007).
    const exact = await ctx.connect({ hello: { maxFrameSize: size } });
    const fitted = await exact.call(FrameKind.FETCH_REQUEST, request);
    checkEqual("PW-FRAME-007", [codeName(fitted.message.partitions[0]?.errorCode ?? 0), fitted.frame.payload.length], [codeName(ErrorCode.UNSPECIFIED), probe.frame.payload.length], `the fetch by a client accepting exactly the ${size}-byte answer`);
    const under = await ctx.connect({ hello: { maxFrameSize: size - 1 } });
    const refused = await fetchOnce(under, topic, 0, 0n, { maxBytes: 1 << 20 });
    checkEqual("PW-LOG-018", [codeName(refused.result.errorCode), refused.result.recordsSize], [codeName(ErrorCode.BATCH_TOO_LARGE), 0], `the fetch by a client accepting ${size - 1}-byte frames, one byte short of the answer`);
  },
};

/** Fetch (§7.2). */
export const fetchCases: readonly ConformanceCase[] = [limits, errors, duplicatePartition, longPoll, clientFrameLimit];
