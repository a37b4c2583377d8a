import fc from "fast-check";
import { Acks, OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch, recordDifference, type TestRecord } from "../../batch/batch.js";
import { CODEC_NAMES, type CodecName } from "../../batch/compress.js";
import { check, checkEqual, ClauseViolation } from "../../clause.js";
import { modelCase, planeModel, planeReal, type ModelPlugin, type World, type WorldCommand, type WorldModel } from "../../model/framework.js";
import { BrokerError, codeName } from "../../wire/messages.js";
import type { ProducerId } from "./idempotence.js";
import { fetchOnce, listOffset } from "./io.js";

const KEY = "log";
const PARTITIONS = 3;
const PRODUCERS = 2;
/** Record timestamps of model runs lie in [T0, T0 + SPAN). */
const T0 = 1_700_000_000_000n;
const SPAN = 10_000n;

interface SentBatch {
  readonly seq: number;
  readonly count: number;
  readonly offset: bigint;
  readonly bytes: Uint8Array;
}

interface ModelProducer {
  id: ProducerId | undefined;
  previousEpoch: number | undefined;
  seq: number[];
  /** The batches of the current epoch, per partition, newest last. */
  sent: SentBatch[][];
}

/** The simplified log of §7: per partition, the records at offsets 0, 1, ...; per producer, its sequences. */
interface LogModel {
  readonly logs: TestRecord[][];
  readonly producers: ModelProducer[];
  readonly window: number;
  readonly idempotence: boolean;
}

interface LogReal {
  readonly topic: string;
}

/** Runs `request`; an unexpected broker error becomes a violation of `clause`. */
async function ok<T>(clause: string, request: Promise<T>, what: string): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof BrokerError) throw new ClauseViolation(clause, `${what} failed with ${error.message}`);
    throw error;
  }
}

/** Runs `request`, which must fail with `code`. */
async function fails(clause: string, request: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  try {
    await request;
  } catch (error) {
    if (error instanceof BrokerError) {
      check(clause, error.code === code, `${what}: expected ${codeName(code)}, got ${error.message}`);
      return;
    }
    throw error;
  }
  throw new ClauseViolation(clause, `${what}: expected ${codeName(code)}, but it succeeded`);
}

function describe(records: readonly TestRecord[]): string {
  return `${records.length} record${records.length === 1 ? "" : "s"}`;
}

const bytesOrNull = fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null, freq: 4 });
const recordArb: fc.Arbitrary<TestRecord> = fc.record({
  key: bytesOrNull,
  value: fc.oneof({ weight: 4, arbitrary: bytesOrNull }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 3000 }) }),
  headers: fc.array(fc.record({ key: fc.string({ unit: "grapheme", maxLength: 6 }), value: bytesOrNull }), { maxLength: 3 }),
  typeId: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 53n - 1n })),
  timestamp: fc.bigInt({ min: T0, max: T0 + SPAN - 1n }),
});
const recordsArb = fc.array(recordArb, { minLength: 1, maxLength: 6 });
const partitionArb = fc.nat({ max: PARTITIONS - 1 });
const codecArb = fc.constantFrom<CodecName>(...CODEC_NAMES);
const connArb = fc.nat({ max: 1 });

function session(world: World, conn: number): World["sessions"][number] {
  return world.sessions[conn % world.sessions.length] as World["sessions"][number];
}

function appendChecked(model: LogModel, partition: number, offset: bigint, records: readonly TestRecord[], what: string): void {
  const log = model.logs[partition] as TestRecord[];
  checkEqual("PW-LOG-002", offset, BigInt(log.length), `base offset of ${what} on partition ${partition}`);
  log.push(...records);
}

class Produce implements WorldCommand {
  constructor(readonly partition: number, readonly records: TestRecord[], readonly acks: Acks, readonly codec: CodecName, readonly conn: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const real = planeReal<LogReal>(w, KEY);
    const { message } = await ok("PW-LOG-002", session(w, this.conn).call(FrameKind.PRODUCE_REQUEST, { topic: real.topic, partition: this.partition, acks: this.acks }, encodeBatch(this.records, { codec: this.codec })), `produce of ${describe(this.records)}`);
    appendChecked(planeModel<LogModel>(m, KEY), this.partition, message.baseOffset, this.records, "a produce");
  }
  toString(): string {
    return `Produce(partition ${this.partition}, ${describe(this.records)}, acks ${Acks[this.acks]}, ${this.codec}, connection ${this.conn})`;
  }
}

async function ensureProducer(model: LogModel, w: World, index: number, conn: number): Promise<ModelProducer> {
  const p = model.producers[index] as ModelProducer;
  if (p.id === undefined) {
    const { message } = await ok("PW-IDEM-008", session(w, conn).call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n, producerEpoch: -1 }), "InitProducer");
    checkEqual("PW-IDEM-008", message.producerEpoch, 0, "epoch of a new producer id");
    p.id = { producerId: message.producerId, producerEpoch: message.producerEpoch };
  }
  return p;
}

function idempotentBytes(p: ModelProducer, seq: number, records: readonly TestRecord[], epoch = (p.id as ProducerId).producerEpoch): Uint8Array {
  return encodeBatch(records, { producerId: (p.id as ProducerId).producerId, producerEpoch: epoch, baseSequence: seq });
}

class ProduceIdempotent implements WorldCommand {
  constructor(readonly producer: number, readonly partition: number, readonly records: TestRecord[], readonly conn: number) {}
  check(m: Readonly<WorldModel>): boolean {
    return planeModel<LogModel>(m as WorldModel, KEY).idempotence;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const model = planeModel<LogModel>(m, KEY);
    const p = await ensureProducer(model, w, this.producer, this.conn);
    const seq = p.seq[this.partition] as number;
    const bytes = idempotentBytes(p, seq, this.records);
    const { message } = await ok("PW-IDEM-002", session(w, this.conn).call(FrameKind.PRODUCE_REQUEST, { topic: planeReal<LogReal>(w, KEY).topic, partition: this.partition, acks: Acks.ALL }, bytes.slice()), `idempotent produce with base_sequence ${seq}`);
    check("PW-IDEM-002", !message.duplicate, `a fresh idempotent batch (base_sequence ${seq}) was reported a duplicate`);
    appendChecked(model, this.partition, message.baseOffset, this.records, "an idempotent produce");
    p.seq[this.partition] = seq + this.records.length;
    const sent = p.sent[this.partition] as SentBatch[];
    sent.push({ seq, count: this.records.length, offset: message.baseOffset, bytes });
    if (sent.length > model.window + 2) sent.shift();
  }
  toString(): string {
    return `ProduceIdempotent(producer ${this.producer}, partition ${this.partition}, ${describe(this.records)}, connection ${this.conn})`;
  }
}

class Retry implements WorldCommand {
  constructor(readonly producer: number, readonly partition: number, readonly back: number, readonly conn: number) {}
  check(m: Readonly<WorldModel>): boolean {
    const p = planeModel<LogModel>(m as WorldModel, KEY).producers[this.producer] as ModelProducer;
    return (p.sent[this.partition]?.length ?? 0) > this.back;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const model = planeModel<LogModel>(m, KEY);
    const sent = (model.producers[this.producer] as ModelProducer).sent[this.partition] as SentBatch[];
    const batch = sent[sent.length - 1 - this.back] as SentBatch;
    const request = session(w, this.conn).call(FrameKind.PRODUCE_REQUEST, { topic: planeReal<LogReal>(w, KEY).topic, partition: this.partition, acks: Acks.ALL }, batch.bytes.slice());
    if (this.back < model.window) {
      const { message } = await ok("PW-IDEM-003", request, `a retry of the batch ${this.back} back (inside the window of ${model.window})`);
      checkEqual("PW-IDEM-003", { duplicate: message.duplicate, baseOffset: message.baseOffset }, { duplicate: true, baseOffset: batch.offset }, `a retry of the batch ${this.back} back`);
      return;
    }
    // Beyond the window a retry may be refused, or recognised; it must never be appended again.
    try {
      const { message } = await request;
      checkEqual("PW-IDEM-003", { duplicate: message.duplicate, baseOffset: message.baseOffset }, { duplicate: true, baseOffset: batch.offset }, `a retry of the batch ${this.back} back, beyond the window`);
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      check("PW-IDEM-004", error.code === ErrorCode.OUT_OF_ORDER_SEQUENCE, `a retry beyond the window failed with ${error.message}`);
    }
  }
  toString(): string {
    return `Retry(producer ${this.producer}, partition ${this.partition}, the batch ${this.back} back, connection ${this.conn})`;
  }
}

class OutOfOrder implements WorldCommand {
  constructor(readonly producer: number, readonly partition: number, readonly gap: number) {}
  check(m: Readonly<WorldModel>): boolean {
    return (planeModel<LogModel>(m as WorldModel, KEY).producers[this.producer] as ModelProducer).id !== undefined;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const p = planeModel<LogModel>(m, KEY).producers[this.producer] as ModelProducer;
    const seq = (p.seq[this.partition] as number) + this.gap;
    await fails("PW-IDEM-004", session(w, 0).call(FrameKind.PRODUCE_REQUEST, { topic: planeReal<LogReal>(w, KEY).topic, partition: this.partition, acks: Acks.ALL }, idempotentBytes(p, seq, [{ key: null, value: null, headers: [], typeId: 0n, timestamp: T0 }])), ErrorCode.OUT_OF_ORDER_SEQUENCE, `base_sequence ${seq} when ${p.seq[this.partition]} is next`);
  }
  toString(): string {
    return `OutOfOrder(producer ${this.producer}, partition ${this.partition}, gap ${this.gap})`;
  }
}

class Bump implements WorldCommand {
  constructor(readonly producer: number, readonly conn: number) {}
  check(m: Readonly<WorldModel>): boolean {
    return (planeModel<LogModel>(m as WorldModel, KEY).producers[this.producer] as ModelProducer).id !== undefined;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const p = planeModel<LogModel>(m, KEY).producers[this.producer] as ModelProducer;
    const id = p.id as ProducerId;
    const { message } = await ok("PW-IDEM-001", session(w, this.conn).call(FrameKind.INIT_PRODUCER_REQUEST, id), "an epoch bump");
    checkEqual("PW-IDEM-001", { producerId: message.producerId, producerEpoch: message.producerEpoch }, { producerId: id.producerId, producerEpoch: id.producerEpoch + 1 }, "InitProducer with the current id and epoch");
    p.previousEpoch = id.producerEpoch;
    p.id = { producerId: message.producerId, producerEpoch: message.producerEpoch };
    p.seq = p.seq.map(() => 0);
    p.sent = p.sent.map(() => []);
  }
  toString(): string {
    return `BumpEpoch(producer ${this.producer}, connection ${this.conn})`;
  }
}

class Stale implements WorldCommand {
  constructor(readonly producer: number, readonly partition: number) {}
  check(m: Readonly<WorldModel>): boolean {
    return (planeModel<LogModel>(m as WorldModel, KEY).producers[this.producer] as ModelProducer).previousEpoch !== undefined;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const p = planeModel<LogModel>(m, KEY).producers[this.producer] as ModelProducer;
    const bytes = idempotentBytes(p, 0, [{ key: null, value: null, headers: [], typeId: 0n, timestamp: T0 }], p.previousEpoch as number);
    await fails("PW-IDEM-001", session(w, 1).call(FrameKind.PRODUCE_REQUEST, { topic: planeReal<LogReal>(w, KEY).topic, partition: this.partition, acks: Acks.ALL }, bytes), ErrorCode.PRODUCER_FENCED, `a batch of epoch ${p.previousEpoch} after the bump`);
  }
  toString(): string {
    return `StaleEpoch(producer ${this.producer}, partition ${this.partition})`;
  }
}

class Fetch implements WorldCommand {
  constructor(readonly partition: number, readonly at: number, readonly maxBytes: number, readonly conn: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const log = planeModel<LogModel>(m, KEY).logs[this.partition] as TestRecord[];
    const offset = BigInt(Math.min(Math.floor(this.at * (log.length + 1)), log.length));
    const section = await ok("PW-LOG-011", fetchOnce(session(w, this.conn), planeReal<LogReal>(w, KEY).topic, this.partition, offset, { partitionMaxBytes: this.maxBytes }), `fetch at ${offset}`);
    checkEqual("PW-LOG-015", codeName(section.result.errorCode), codeName(ErrorCode.UNSPECIFIED), `error of a fetch at ${offset} (high watermark ${log.length})`);
    checkEqual("PW-LOG-016", [section.result.highWatermark, section.result.logStartOffset], [BigInt(log.length), 0n], `high watermark and log start of partition ${this.partition}`);
    if (offset === BigInt(log.length)) {
      checkEqual("PW-LOG-015", section.records.length, 0, `records of a fetch at the high watermark ${offset}`);
      return;
    }
    check("PW-LOG-013", section.records.length > 0, `a fetch at ${offset} (max_bytes ${this.maxBytes}) below the high watermark ${log.length} returned nothing`);
    check("PW-LOG-011", (section.records[0]?.offset ?? 0n) <= offset, `a fetch at ${offset} began at ${section.records[0]?.offset}`);
    for (const r of section.records) {
      const expected = log[Number(r.offset)];
      check("PW-LOG-031", expected !== undefined, `the fetch returned offset ${r.offset}, beyond the model's ${log.length} records`);
      const diff = recordDifference(r, expected as TestRecord);
      check("PW-LOG-031", diff === undefined, `record ${r.offset} of partition ${this.partition} differs from what was acknowledged in its ${diff}`);
    }
  }
  toString(): string {
    return `Fetch(partition ${this.partition}, at ${this.at.toFixed(2)} of the log, partition max_bytes ${this.maxBytes}, connection ${this.conn})`;
  }
}

class FetchOutOfRange implements WorldCommand {
  constructor(readonly partition: number, readonly beyond: number) {}
  check(): boolean {
    return true;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const log = planeModel<LogModel>(m, KEY).logs[this.partition] as TestRecord[];
    const offset = BigInt(log.length + this.beyond);
    const section = await fetchOnce(session(w, 0), planeReal<LogReal>(w, KEY).topic, this.partition, offset);
    checkEqual("PW-LOG-015", [codeName(section.result.errorCode), section.result.recordsSize], [codeName(ErrorCode.OFFSET_OUT_OF_RANGE), 0], `fetch at ${offset}, high watermark ${log.length}`);
  }
  toString(): string {
    return `FetchOutOfRange(partition ${this.partition}, ${this.beyond} past the high watermark)`;
  }
}

class ListOffsets implements WorldCommand {
  constructor(readonly partition: number, readonly spec: OffsetSpec, readonly at: bigint) {}
  check(): boolean {
    return true;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const log = planeModel<LogModel>(m, KEY).logs[this.partition] as TestRecord[];
    const r = await listOffset(session(w, 1), planeReal<LogReal>(w, KEY).topic, this.partition, this.spec, T0 + this.at);
    if (this.spec === OffsetSpec.EARLIEST) checkEqual("PW-LOG-020", r.offset, 0n, "EARLIEST");
    else if (this.spec === OffsetSpec.LATEST) checkEqual("PW-LOG-020", r.offset, BigInt(log.length), "LATEST");
    else {
      const i = log.findIndex((x) => x.timestamp >= T0 + this.at);
      checkEqual("PW-LOG-021", [r.offset, r.timestampMs], i < 0 ? [-1n, -1n] : [BigInt(i), (log[i] as TestRecord).timestamp], `TIMESTAMP T0+${this.at}`);
    }
  }
  toString(): string {
    return `ListOffsets(partition ${this.partition}, ${OffsetSpec[this.spec]}${this.spec === OffsetSpec.TIMESTAMP ? ` T0+${this.at}` : ""})`;
  }
}

class Metadata implements WorldCommand {
  check(): boolean {
    return true;
  }
  async run(m: WorldModel, w: World): Promise<void> {
    const model = planeModel<LogModel>(m, KEY);
    const topic = planeReal<LogReal>(w, KEY).topic;
    const { message } = await session(w, 0).call(FrameKind.METADATA_REQUEST, { topics: [topic] });
    checkEqual("PW-LOG-023", message.topics[0]?.partitions.map((p) => p.highWatermark), model.logs.map((l) => BigInt(l.length)), `high watermarks in Metadata of ${topic}`);
  }
  toString(): string {
    return "Metadata()";
  }
}

class CorruptBatch implements WorldCommand {
  constructor(readonly partition: number, readonly flip: number) {}
  check(): boolean {
    return true;
  }
  async run(_m: WorldModel, w: World): Promise<void> {
    const bytes = encodeBatch([{ key: null, value: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), headers: [], typeId: 0n, timestamp: T0 }]);
    const at = 17 + (this.flip % (bytes.length - 17));
    bytes[at] = (bytes[at] as number) ^ 0x01;
    await fails("PW-BATCH-003", session(w, 0).call(FrameKind.PRODUCE_REQUEST, { topic: planeReal<LogReal>(w, KEY).topic, partition: this.partition, acks: Acks.LEADER }, bytes), ErrorCode.CORRUPT_BATCH, `a batch with byte ${at} flipped after the CRC`);
  }
  toString(): string {
    return `CorruptBatch(partition ${this.partition}, flip ${this.flip})`;
  }
}

/** The log plane's model: produce (plain and idempotent), retries, fencing, fetch, list offsets, metadata. */
export const logModel: ModelPlugin = {
  plane: "log",
  key: KEY,
  features: [Feature.LOG],
  clauses: [
    "PW-LOG-001", "PW-LOG-002", "PW-LOG-011", "PW-LOG-012", "PW-LOG-013", "PW-LOG-015", "PW-LOG-016", "PW-LOG-020", "PW-LOG-021", "PW-LOG-023", "PW-LOG-031",
    "PW-IDEM-001", "PW-IDEM-002", "PW-IDEM-003", "PW-IDEM-004", "PW-BATCH-003", "PW-COMP-009",
  ],
  async setup(world) {
    const topic = await world.ctx.topic(PARTITIONS);
    const model: LogModel = {
      logs: Array.from({ length: PARTITIONS }, () => []),
      producers: Array.from({ length: PRODUCERS }, () => ({ id: undefined, previousEpoch: undefined, seq: Array<number>(PARTITIONS).fill(0), sent: Array.from({ length: PARTITIONS }, () => []) })),
      window: world.ctx.welcome.limits?.idempotenceWindow ?? 5,
      idempotence: world.ctx.welcome.features.includes(Feature.IDEMPOTENCE),
    };
    return { model, real: { topic } satisfies LogReal };
  },
  commands() {
    const producer = fc.nat({ max: PRODUCERS - 1 });
    return [
      fc.tuple(partitionArb, recordsArb, fc.constantFrom(Acks.LEADER, Acks.ALL, Acks.UNSPECIFIED), codecArb, connArb).map((a) => new Produce(...a)),
      fc.tuple(producer, partitionArb, recordsArb, connArb).map((a) => new ProduceIdempotent(...a)),
      fc.tuple(producer, partitionArb, fc.nat({ max: 7 }), connArb).map((a) => new Retry(...a)),
      fc.tuple(producer, partitionArb, fc.integer({ min: 1, max: 3 })).map((a) => new OutOfOrder(...a)),
      fc.tuple(producer, connArb).map((a) => new Bump(...a)),
      fc.tuple(producer, partitionArb).map((a) => new Stale(...a)),
      fc.tuple(partitionArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1, 300, 5000), connArb).map((a) => new Fetch(...a)),
      fc.tuple(partitionArb, fc.integer({ min: 1, max: 1000 })).map((a) => new FetchOutOfRange(...a)),
      fc.tuple(partitionArb, fc.constantFrom(OffsetSpec.EARLIEST, OffsetSpec.LATEST, OffsetSpec.TIMESTAMP, OffsetSpec.TIMESTAMP), fc.bigInt({ min: 0n, max: SPAN })).map((a) => new ListOffsets(...a)),
      fc.constant(null).map(() => new Metadata()),
      fc.tuple(partitionArb, fc.nat()).map((a) => new CorruptBatch(...a)),
    ];
  },
};

/** Random command sequences against the log model. */
export const logModelCase = modelCase({
  id: "log/model",
  title: "Random sequences of produce, idempotent produce and retries, epoch bumps, fetch, list offsets, metadata and corrupt batches agree with a reference model of §7",
  plane: "log",
  plugins: [logModel],
});
