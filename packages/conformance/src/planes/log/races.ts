import fc from "fast-check";
import { Acks, OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch } from "../../batch/batch.js";
import { check, ClauseViolation, PropertyFailure } from "../../clause.js";
import { renderCommands, replayArgument, splitReplayPath } from "../../model/framework.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { BrokerError, codeName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import type { ProducerId } from "./idempotence.js";
import { fetchOnce, readAll } from "./io.js";

const CONNECTIONS = 3;
const PARTITIONS = 2;

/** One operation of a race run, with the logical times it was sent and completed. */
interface RaceOp {
  readonly kind: "produce" | "idempotent" | "latest" | "poll" | "bump";
  readonly conn: number;
  readonly partition: number;
  readonly values: readonly string[];
  /** For idempotent sends: the epoch the batch carried; for bumps, the epoch bumped. */
  readonly epoch?: number;
  /** For bumps: the connection whose producer is bumped. */
  readonly victim?: number;
  sentAt: number;
  doneAt: number;
  result?: { readonly offset?: bigint; readonly records?: ReadonlyArray<readonly [bigint, string]> };
  error?: BrokerError;
}

interface RaceWorld {
  readonly ctx: CaseContext;
  readonly scheduler: fc.Scheduler;
  readonly sessions: WireSession[];
  readonly topic: string;
  readonly producers: Array<ProducerId & { seq: number[] }>;
  readonly ops: RaceOp[];
  readonly pending: Array<Promise<void>>;
  clock: number;
  counter: number;
}

type RaceCommand = fc.AsyncCommand<object, RaceWorld>;

/** Starts `op`: its send waits for the scheduler, its completion is recorded with the logical clock. */
function launch(w: RaceWorld, op: RaceOp, send: () => Promise<RaceOp["result"]>): void {
  w.pending.push((async () => {
    await w.scheduler.schedule(Promise.resolve(), `${op.kind} c${op.conn} p${op.partition}`);
    op.sentAt = ++w.clock;
    try {
      op.result = await send();
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      op.error = error;
    }
    op.doneAt = ++w.clock;
    w.ops.push(op);
  })());
}

const decoder = new TextDecoder();

class Produce implements RaceCommand {
  constructor(readonly conn: number, readonly partition: number, readonly count: number, readonly idempotent: boolean) {}
  check(): boolean {
    return true;
  }
  async run(_m: object, w: RaceWorld): Promise<void> {
    const values = Array.from({ length: this.count }, () => `v${++w.counter}`);
    const records = values.map((v) => ({ key: null, value: new TextEncoder().encode(v), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) }));
    const producer = w.producers[this.conn] as RaceWorld["producers"][number];
    const op: RaceOp = { kind: this.idempotent ? "idempotent" : "produce", conn: this.conn, partition: this.partition, values, epoch: producer.producerEpoch, sentAt: 0, doneAt: 0 };
    launch(w, op, async () => {
      // The sequence is taken when the send really happens, so sequences reach the broker in order.
      const bytes = this.idempotent
        ? encodeBatch(records, { producerId: producer.producerId, producerEpoch: op.epoch as number, baseSequence: (producer.seq[this.partition] as number) })
        : encodeBatch(records);
      if (this.idempotent) producer.seq[this.partition] = (producer.seq[this.partition] as number) + records.length;
      const { message } = await (w.sessions[this.conn] as WireSession).call(FrameKind.PRODUCE_REQUEST, { topic: w.topic, partition: this.partition, acks: Acks.ALL }, bytes);
      return { offset: message.baseOffset };
    });
  }
  toString(): string {
    return `${this.idempotent ? "ProduceIdempotent" : "Produce"}(connection ${this.conn}, partition ${this.partition}, ${this.count} records)`;
  }
}

class Latest implements RaceCommand {
  constructor(readonly conn: number, readonly partition: number) {}
  check(): boolean {
    return true;
  }
  async run(_m: object, w: RaceWorld): Promise<void> {
    launch(w, { kind: "latest", conn: this.conn, partition: this.partition, values: [], sentAt: 0, doneAt: 0 }, async () => {
      const { message } = await (w.sessions[this.conn] as WireSession).call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic: w.topic, partition: this.partition, spec: OffsetSpec.LATEST }] });
      return { offset: message.partitions[0]?.offset ?? -1n };
    });
  }
  toString(): string {
    return `ListLatest(connection ${this.conn}, partition ${this.partition})`;
  }
}

class Poll implements RaceCommand {
  constructor(readonly conn: number, readonly partition: number) {}
  check(): boolean {
    return true;
  }
  async run(_m: object, w: RaceWorld): Promise<void> {
    const known = w.ops.filter((o) => o.partition === this.partition && o.result?.offset !== undefined && (o.kind === "produce" || o.kind === "idempotent"));
    const from = known.reduce((m, o) => (o.result?.offset !== undefined && o.result.offset > m ? o.result.offset : m), 0n);
    launch(w, { kind: "poll", conn: this.conn, partition: this.partition, values: [], sentAt: 0, doneAt: 0 }, async () => {
      const section = await fetchOnce(w.sessions[this.conn] as WireSession, w.topic, this.partition, from, { maxWaitMs: 150, minBytes: 1 });
      return { records: section.records.map((r) => [r.offset, decoder.decode(r.value ?? new Uint8Array(0))] as const) };
    });
  }
  toString(): string {
    return `LongPoll(connection ${this.conn}, partition ${this.partition})`;
  }
}

class Bump implements RaceCommand {
  constructor(readonly conn: number, readonly victim: number) {}
  check(): boolean {
    return true;
  }
  async run(_m: object, w: RaceWorld): Promise<void> {
    const producer = w.producers[this.victim] as RaceWorld["producers"][number];
    launch(w, { kind: "bump", conn: this.conn, partition: 0, victim: this.victim, values: [], epoch: producer.producerEpoch, sentAt: 0, doneAt: 0 }, async () => {
      await (w.sessions[this.conn] as WireSession).call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: producer.producerId, producerEpoch: producer.producerEpoch });
      return {};
    });
  }
  toString(): string {
    return `BumpEpoch(of connection ${this.victim}'s producer, from connection ${this.conn})`;
  }
}

/** Checks a finished race run against the final state of the log. */
async function verify(w: RaceWorld): Promise<void> {
  const reader = w.sessions[0] as WireSession;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const { records } = await readAll(reader, w.topic, partition);
    const log = new Map(records.map((r) => [r.offset, decoder.decode(r.value ?? new Uint8Array(0))]));
    const ops = w.ops.filter((o) => o.partition === partition && o.kind !== "bump");
    const sends = ops.filter((o) => o.kind === "produce" || o.kind === "idempotent");
    const stored = new Set<string>();
    for (const o of sends) {
      if (o.result?.offset === undefined) continue;
      o.values.forEach((v, i) => {
        const at = (o.result?.offset as bigint) + BigInt(i);
        check("PW-LOG-031", log.get(at) === v, `${v}, acknowledged at offset ${at} of partition ${partition}, is ${log.has(at) ? `${log.get(at)} there` : "not in the log"}`);
        stored.add(v);
      });
    }
    for (const [offset, v] of log) check("PW-LOG-001", stored.has(v), `offset ${offset} of partition ${partition} holds ${v}, which no acknowledged produce sent`);
    // Per connection, acknowledged produces land in the order they were sent (PW-LOG-007).
    for (let c = 0; c < CONNECTIONS; c++) {
      const mine = sends.filter((o) => o.conn === c && o.result?.offset !== undefined).sort((a, b) => a.sentAt - b.sentAt);
      for (let i = 1; i < mine.length; i++) {
        check("PW-LOG-007", (mine[i]?.result?.offset as bigint) > (mine[i - 1]?.result?.offset as bigint), `on connection ${c}, a produce sent later landed at ${mine[i]?.result?.offset}, before one sent earlier at ${mine[i - 1]?.result?.offset}`);
      }
    }
    // A high watermark read covers every produce acknowledged before the read was sent, and never goes back.
    const latest = ops.filter((o) => o.kind === "latest" && o.result?.offset !== undefined);
    for (const l of latest) {
      for (const o of sends) {
        if (o.result?.offset === undefined || o.doneAt >= l.sentAt) continue;
        const end = o.result.offset + BigInt(o.values.length);
        check("PW-LOG-005", (l.result?.offset as bigint) >= end, `a high watermark read sent after the ack of offsets up to ${end - 1n} returned ${l.result?.offset}`);
      }
      for (const earlier of latest) {
        if (earlier.doneAt < l.sentAt) check("PW-LOG-032", (l.result?.offset as bigint) >= (earlier.result?.offset as bigint), `the high watermark went from ${earlier.result?.offset} to ${l.result?.offset}`);
      }
    }
    for (const p of ops.filter((o) => o.kind === "poll" && o.result?.records !== undefined)) {
      for (const [offset, v] of p.result?.records ?? []) check("PW-LOG-031", log.get(offset) === v, `a long poll saw ${v} at offset ${offset}, the log holds ${log.get(offset)}`);
    }
  }
  // Fencing: a batch of the old epoch sent after the bump completed must be PRODUCER_FENCED (PW-IDEM-001).
  for (const bump of w.ops.filter((o) => o.kind === "bump" && o.error === undefined)) {
    for (const o of w.ops.filter((x) => x.kind === "idempotent" && x.conn === bump.victim && x.epoch === bump.epoch && x.sentAt > bump.doneAt)) {
      check("PW-IDEM-001", o.error?.code === ErrorCode.PRODUCER_FENCED, `a batch of epoch ${o.epoch}, sent after that epoch was bumped, ${o.error === undefined ? "was appended" : `failed with ${codeName(o.error.code)}`}`);
    }
  }
  for (const o of w.ops) {
    if (o.error === undefined) continue;
    const fenced = o.kind === "idempotent" && (o.error.code === ErrorCode.PRODUCER_FENCED || o.error.code === ErrorCode.OUT_OF_ORDER_SEQUENCE);
    const bumpRace = o.kind === "bump" && o.error.code === ErrorCode.PRODUCER_FENCED;
    check("PW-LOG-002", fenced || bumpRace, `${o.kind} on connection ${o.conn} failed with ${o.error.message}`);
  }
}

/** Concurrent produces, idempotent produces, epoch bumps, high watermark reads and long polls, interleaved by fast-check's scheduler. */
export const racesCase: ConformanceCase = {
  id: "log/races",
  title: "Concurrent produces, idempotent produces, epoch bumps, high watermark reads and long polls on three connections, their sends interleaved by fast-check's scheduler: acknowledged records are where the acks say, per-connection order holds, high watermarks cover acknowledged writes and never go back, fencing holds",
  plane: "log",
  clauses: ["PW-LOG-001", "PW-LOG-002", "PW-LOG-005", "PW-LOG-007", "PW-LOG-031", "PW-LOG-032", "PW-IDEM-001"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  needs: ["admin"],
  seeded: true,
  timeoutMs: 120_000,
  async run(ctx) {
    const quick = ctx.profile === "quick";
    const conn = fc.nat({ max: CONNECTIONS - 1 });
    const partition = fc.nat({ max: PARTITIONS - 1 });
    const replay = splitReplayPath(ctx.path);
    const commands = fc.commands<object, RaceWorld, false>([
      fc.tuple(conn, partition, fc.integer({ min: 1, max: 4 }), fc.boolean()).map((a) => new Produce(...a)),
      fc.tuple(conn, partition).map((a) => new Latest(...a)),
      fc.tuple(conn, partition).map((a) => new Poll(...a)),
      fc.tuple(conn, conn).map((a) => new Bump(...a)),
    ], { maxCommands: quick ? 30 : 80, size: "medium", ...(replay.replayPath === undefined ? {} : { replayPath: replay.replayPath }) });
    let previous: WireSession[] = [];
    const property = fc.asyncProperty(fc.scheduler(), commands, async (scheduler, cmds) => {
      for (const s of previous) s.destroy();
      const sessions: WireSession[] = [];
      for (let i = 0; i < CONNECTIONS; i++) sessions.push(await ctx.connect());
      previous = sessions;
      const topic = await ctx.topic(PARTITIONS);
      const producers = [];
      for (const s of sessions) {
        const { message } = await s.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n, producerEpoch: -1 });
        producers.push({ producerId: message.producerId, producerEpoch: message.producerEpoch, seq: Array<number>(PARTITIONS).fill(0) });
      }
      const world: RaceWorld = { ctx, scheduler, sessions, topic, producers, ops: [], pending: [], clock: 0, counter: 0 };
      await fc.scheduledModelRun(scheduler, () => ({ model: {}, real: world }), cmds);
      await scheduler.waitFor(Promise.all(world.pending));
      await verify(world);
    });
    const details = await fc.check(property, { seed: ctx.seed, numRuns: quick ? 10 : 60, ...(replay.path === undefined ? {} : { path: replay.path }) });
    if (!details.failed) return;
    const cause = details.errorInstance;
    if (!(cause instanceof ClauseViolation)) throw cause;
    const [scheduler, cmds] = details.counterexample as [fc.Scheduler, unknown];
    const rendered = renderCommands(cmds);
    throw new PropertyFailure(cause.clause, `after ${details.numShrinks} shrinks: ${cause.message.replace(/^PW-[A-Z]+-\d+: /, "")}`, {
      path: replayArgument(details.counterexamplePath, rendered.replayPath),
      counterexample: `${rendered.text}\n\nscheduler:\n${scheduler.report().map((t) => `${t.status} ${t.label}`).join("\n")}`,
    });
  },
};
