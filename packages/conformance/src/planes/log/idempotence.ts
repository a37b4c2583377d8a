import { Acks } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch, type TestRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import type { WireSession } from "../../wire/session.js";
import { expectBrokerError } from "../expect.js";
import { highWatermark } from "./io.js";
import { numbered } from "./records.js";

/** A producer id and epoch from InitProducer. */
export interface ProducerId {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export async function initProducer(session: WireSession, current: ProducerId = { producerId: -1n, producerEpoch: -1 }): Promise<ProducerId> {
  const { message } = await session.call(FrameKind.INIT_PRODUCER_REQUEST, current);
  checkEqual("PW-LOG-009", message.errorCode, ErrorCode.UNSPECIFIED, "InitProducerResponse.error_code");
  return { producerId: message.producerId, producerEpoch: message.producerEpoch };
}

/** Sends one idempotent batch; resolves with the ProduceResponse or rejects with the broker's error. */
export function sendIdempotent(session: WireSession, topic: string, partition: number, producer: ProducerId, baseSequence: number, records: readonly TestRecord[], acks = Acks.LEADER): Promise<{ baseOffset: bigint; duplicate: boolean }> {
  const batch = encodeBatch(records, { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence });
  return session.call(FrameKind.PRODUCE_REQUEST, { topic, partition, acks }, batch).then(({ message }) => message);
}

const init: ConformanceCase = {
  id: "log/init-producer",
  title: "InitProducer grants new ids at epoch 0 never handed out before (ignoring the epoch sent with id -1), bumps the epoch of the current id, fences older epochs and refuses unknown ids",
  plane: "log",
  clauses: ["PW-IDEM-001", "PW-IDEM-008"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  async run(ctx) {
    const session = await ctx.connect();
    const a = await initProducer(session);
    const b = await initProducer(session);
    check("PW-IDEM-008", a.producerId >= 0n && b.producerId >= 0n && a.producerId !== b.producerId, `two new producers got ids ${a.producerId} and ${b.producerId}`);
    checkEqual("PW-IDEM-008", [a.producerEpoch, b.producerEpoch], [0, 0], "epochs of new producer ids");
    // With producer_id -1 the epoch is ignored: whatever it says, a new id at epoch 0.
    for (const producerEpoch of [7, 0]) {
      const c = await initProducer(session, { producerId: -1n, producerEpoch });
      check("PW-IDEM-008", c.producerId >= 0n && c.producerId !== a.producerId && c.producerId !== b.producerId && c.producerEpoch === 0, `InitProducer with producer id -1 and epoch ${producerEpoch} got id ${c.producerId} at epoch ${c.producerEpoch}, not a new id at epoch 0`);
    }
    const bumped = await initProducer(session, a);
    checkEqual("PW-IDEM-001", bumped, { producerId: a.producerId, producerEpoch: 1 }, "InitProducer with the current id and epoch");
    await expectBrokerError("PW-IDEM-008", session.call(FrameKind.INIT_PRODUCER_REQUEST, a), ErrorCode.PRODUCER_FENCED, "InitProducer with an epoch older than the current");
    const unknown = a.producerId + b.producerId + 1_000_000n;
    await expectBrokerError("PW-IDEM-008", session.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: unknown, producerEpoch: 0 }), ErrorCode.UNKNOWN_PRODUCER, `InitProducer with producer id ${unknown}, never granted`);
  },
};

const sequences: ConformanceCase = {
  id: "log/idempotent-sequences",
  title: "Idempotent batches: consecutive sequences append, a retry inside the window is a duplicate with the original offset, a gap or a first sequence other than 0 is OUT_OF_ORDER_SEQUENCE, and nothing is appended twice",
  plane: "log",
  clauses: ["PW-IDEM-002", "PW-IDEM-003", "PW-IDEM-004", "PW-IDEM-007", "PW-IDEM-009", "PW-LOG-001"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(2);
    const session = await ctx.connect();
    const window = session.welcome.limits?.idempotenceWindow ?? 5;
    const p = await initProducer(session);
    await expectBrokerError("PW-IDEM-009", sendIdempotent(session, topic, 0, p, 3, numbered("first", 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE, "the first batch of an epoch with base_sequence 3");
    const sent: Array<{ seq: number; records: TestRecord[]; offset: bigint }> = [];
    let seq = 0;
    for (let i = 0; i < window + 2; i++) {
      const records = numbered(`b${i}`, 1 + (i % 3));
      const r = await sendIdempotent(session, topic, 0, p, seq, records);
      check("PW-IDEM-002", !r.duplicate, `batch ${i} (base_sequence ${seq}) was reported a duplicate`);
      sent.push({ seq, records, offset: r.baseOffset });
      seq += records.length;
    }
    const hw = await highWatermark(session, topic, 0);
    // Retries of each of the last `window` batches: duplicates with their original offsets.
    for (const b of sent.slice(-window)) {
      const r = await sendIdempotent(session, topic, 0, p, b.seq, b.records);
      checkEqual("PW-IDEM-003", { duplicate: r.duplicate, baseOffset: r.baseOffset }, { duplicate: true, baseOffset: b.offset }, `retry of the batch with base_sequence ${b.seq}`);
    }
    // A retry of an older batch is not guaranteed to be recognised, but it must never be appended again.
    const old = sent[0] as (typeof sent)[number];
    await sendIdempotent(session, topic, 0, p, old.seq, old.records).then(
      (r) => check("PW-IDEM-003", r.duplicate && r.baseOffset === old.offset, `a retry of a batch beyond the window was appended again at ${r.baseOffset}`),
      () => undefined,
    );
    await expectBrokerError("PW-IDEM-004", sendIdempotent(session, topic, 0, p, seq + 1, numbered("gap", 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE, `base_sequence ${seq + 1} when ${seq} is next`);
    checkEqual("PW-IDEM-004", await highWatermark(session, topic, 0), hw, "high watermark after duplicates and an out-of-order batch");
    // Sequences are per partition: partition 1 starts at 0.
    const other = await sendIdempotent(session, topic, 1, p, 0, numbered("p1", 2));
    checkEqual("PW-IDEM-002", other.baseOffset, 0n, "first idempotent batch of partition 1");
    // The window holds `window` batches in flight: pipelined batches all append in order (PW-IDEM-007).
    const pipelined = await Promise.all(Array.from({ length: window }, (_, i) => sendIdempotent(session, topic, 1, p, 2 + i, numbered(`pipe${i}`, 1))));
    checkEqual("PW-IDEM-007", pipelined.map((r) => r.baseOffset), Array.from({ length: window }, (_, i) => BigInt(2 + i)), "offsets of a window of pipelined idempotent batches");
  },
};

const fencing: ConformanceCase = {
  id: "log/producer-fencing",
  title: "After an epoch bump, batches of the old epoch are PRODUCER_FENCED; a newer epoch than granted, or an unknown producer id, is UNKNOWN_PRODUCER",
  plane: "log",
  clauses: ["PW-IDEM-001", "PW-IDEM-005", "PW-IDEM-009"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const session = await ctx.connect();
    const p = await initProducer(session);
    await sendIdempotent(session, topic, 0, p, 0, numbered("e0", 2));
    const bumped = await initProducer(session, p);
    await expectBrokerError("PW-IDEM-001", sendIdempotent(session, topic, 0, p, 2, numbered("stale", 1)), ErrorCode.PRODUCER_FENCED, "a batch of the epoch before the bump");
    const r = await sendIdempotent(session, topic, 0, bumped, 0, numbered("e1", 1));
    checkEqual("PW-IDEM-009", r.baseOffset, 2n, "first batch of the new epoch, base_sequence 0");
    await expectBrokerError("PW-IDEM-009", sendIdempotent(session, topic, 0, { producerId: p.producerId, producerEpoch: bumped.producerEpoch + 1 }, 0, numbered("future", 1)), ErrorCode.UNKNOWN_PRODUCER, "a batch with an epoch newer than granted");
    await expectBrokerError("PW-IDEM-005", sendIdempotent(session, topic, 0, { producerId: p.producerId + 1_000_000n, producerEpoch: 0 }, 0, numbered("stranger", 1)), ErrorCode.UNKNOWN_PRODUCER, "a batch from a producer id never granted");
    checkEqual("PW-IDEM-001", await highWatermark(session, topic, 0), 3n, "high watermark after fenced and unknown batches");
  },
};

const epochOverflow: ConformanceCase = {
  id: "log/producer-epoch-overflow",
  title: "Bumping a producer's epoch past 32767 grants a new producer id at epoch 0",
  plane: "log",
  clauses: ["PW-IDEM-010"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  timeoutMs: 600_000,
  async run(ctx) {
    // 32 768 InitProducer rounds: against memory storage in a variant when the target has them, else (full profile) the target itself.
    let url = ctx.target.url;
    if (ctx.target.capabilities.variants) url = (await ctx.variant({ memory: true })).url;
    else if (ctx.profile === "quick") throw new Unsupported("32 768 InitProducer rounds against an external broker run in the full profile");
    const session = await ctx.connectTo(url);
    let p = await initProducer(session);
    const first = p.producerId;
    while (p.producerEpoch < 32767) {
      const next = await initProducer(session, p);
      checkEqual("PW-IDEM-001", next, { producerId: p.producerId, producerEpoch: p.producerEpoch + 1 }, "an epoch bump below 32767");
      p = next;
    }
    const wrapped = await initProducer(session, p);
    check("PW-IDEM-010", wrapped.producerId !== first && wrapped.producerId >= 0n && wrapped.producerEpoch === 0, `bumping epoch 32767 of producer ${first} gave ${wrapped.producerId}/${wrapped.producerEpoch}; expected a new id at epoch 0`);
  },
};

/** Idempotent produce (§7.5). */
export const idempotenceCases: readonly ConformanceCase[] = [init, sequences, fencing, epochOverflow];
