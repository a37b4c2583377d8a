import { Acks } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch } from "../../batch/batch.js";
import { ClauseViolation } from "../../clause.js";
import { checkHistory } from "../../history/checker.js";
import { HistoryRecorder, type HistoryEvent, type PollValue, type SendValue } from "../../history/history.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { BrokerError, RETRIABLE_CODES } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { sleep } from "../expect.js";
import { readAll, splitFetch } from "./io.js";

const PARTITIONS = 3;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A deterministic generator (mulberry32), so a seed replays the same workload and fault schedule. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shared {
  readonly ctx: CaseContext;
  readonly topic: string;
  readonly history: HistoryRecorder;
  readonly idempotent: boolean;
  readonly rand: () => number;
  running: boolean;
}

/** A client of the workload: it owns one connection at a time and reconnects when it is lost. */
abstract class Client {
  session: WireSession | undefined;
  crashed = false;

  constructor(readonly process: number, readonly shared: Shared) {}

  /** A live session, reconnecting (the broker may be restarting) until the workload stops. */
  async connection(): Promise<WireSession | undefined> {
    while (this.shared.running && !this.crashed) {
      if (this.session !== undefined && this.session.ended === undefined) return this.session;
      try {
        this.session = await this.shared.ctx.connect({ timeoutMs: 2000 });
        await this.connected(this.session);
        return this.session;
      } catch {
        await sleep(50);
      }
    }
    return undefined;
  }

  /** Called on every new connection. */
  async connected(_session: WireSession): Promise<void> {}

  /** Drops the connection abruptly: a connection kill. */
  killConnection(): void {
    this.session?.destroy();
  }

  /** The client process dies: its connection goes, and it never comes back. */
  crash(): void {
    this.crashed = true;
    this.session?.destroy();
  }

  abstract loop(): Promise<void>;
}

class Producer extends Client {
  #producer: { producerId: bigint; producerEpoch: number } | undefined;
  #seq: number[] = Array<number>(PARTITIONS).fill(0);
  #n = 0;

  override async connected(session: WireSession): Promise<void> {
    if (!this.shared.idempotent || this.#producer !== undefined) return;
    const { message } = await session.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n, producerEpoch: -1 });
    this.#producer = { producerId: message.producerId, producerEpoch: message.producerEpoch };
  }

  async #reinit(session: WireSession): Promise<void> {
    const { message } = await session.call(FrameKind.INIT_PRODUCER_REQUEST, this.#producer ?? { producerId: -1n, producerEpoch: -1 });
    this.#producer = { producerId: message.producerId, producerEpoch: message.producerEpoch };
    this.#seq = this.#seq.map(() => 0);
  }

  async loop(): Promise<void> {
    while (this.shared.running && !this.crashed) {
      const partition = Math.floor(this.shared.rand() * PARTITIONS);
      const values = Array.from({ length: 1 + Math.floor(this.shared.rand() * 4) }, (_, j) => `p${this.process}-${this.#n}-${j}`);
      this.#n++;
      const invoke = this.shared.history.invoke(this.process, "send", { partition, values });
      await this.#send(invoke, partition, values);
    }
  }

  async #send(invoke: HistoryEvent, partition: number, values: string[]): Promise<void> {
    const records = values.map((v) => ({ key: null, value: encoder.encode(v), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) }));
    let bytes: Uint8Array | undefined;
    // Once an attempt may have reached the broker, a later failure proves nothing about it: the outcome is indeterminate.
    let attempts = 0;
    const history = this.shared.history;
    for (;;) {
      const session = await this.connection();
      if (session === undefined) {
        history.complete(invoke, attempts > 0 ? "info" : "fail", invoke.value, "the client stopped");
        return;
      }
      // An idempotent batch is encoded once and resent byte for byte (PW-IDEM-007); a plain one is sent once.
      if (bytes === undefined) {
        bytes = this.#producer === undefined ? encodeBatch(records) : encodeBatch(records, { ...this.#producer, baseSequence: this.#seq[partition] as number });
        if (this.#producer !== undefined) this.#seq[partition] = (this.#seq[partition] as number) + records.length;
      }
      try {
        attempts++;
        const { message } = await session.call(FrameKind.PRODUCE_REQUEST, { topic: this.shared.topic, partition, acks: Acks.ALL, timeoutMs: 3000 }, bytes.slice(), { timeoutMs: 4000 });
        history.complete(invoke, "ok", { partition, values, offset: message.baseOffset } satisfies SendValue);
        return;
      } catch (error) {
        if (error instanceof BrokerError) {
          if (RETRIABLE_CODES.has(error.code) && this.#producer !== undefined) {
            await sleep(20);
            continue;
          }
          if (error.code === ErrorCode.OUT_OF_ORDER_SEQUENCE || error.code === ErrorCode.PRODUCER_FENCED || error.code === ErrorCode.UNKNOWN_PRODUCER) {
            // The producer's state is gone: start a new epoch, as a client does after a fatal sequence error.
            await this.#reinit(session).catch(() => undefined);
          }
          // TIMEOUT and STORAGE leave the outcome open (PW-LOG-008); any other answer refuses this attempt.
          const open = attempts > 1 || error.code === ErrorCode.TIMEOUT || error.code === ErrorCode.STORAGE;
          history.complete(invoke, open ? "info" : "fail", invoke.value, error.message);
          return;
        }
        // The connection died or the answer never came: idempotent sends retry the same bytes, plain ones are indeterminate.
        if (this.#producer === undefined || this.crashed) {
          history.complete(invoke, "info", invoke.value, (error as Error).message);
          return;
        }
        await sleep(20);
      }
    }
  }
}

class Consumer extends Client {
  #from = new Map<number, bigint>(Array.from({ length: PARTITIONS }, (_, p) => [p, 0n]));

  async loop(): Promise<void> {
    while (this.shared.running && !this.crashed) {
      const session = await this.connection();
      if (session === undefined) return;
      const from = new Map(this.#from);
      const invoke = this.shared.history.invoke(this.process, "poll", { from });
      const partitions = [...from].map(([partition, offset]) => ({ topic: this.shared.topic, partition, offset, maxBytes: 64 * 1024 }));
      try {
        const { message, frame } = await session.call(FrameKind.FETCH_REQUEST, { partitions, maxWaitMs: 100, minBytes: 1, maxBytes: 256 * 1024 }, undefined, { timeoutMs: 3000 });
        const records: Array<[number, bigint, string]> = [];
        for (const section of splitFetch(message, frame.payload, partitions)) {
          for (const r of section.records) records.push([section.result.partition, r.offset, decoder.decode(r.value ?? new Uint8Array(0))]);
          const last = section.records[section.records.length - 1];
          if (last !== undefined && last.offset + 1n > (this.#from.get(section.result.partition) ?? 0n)) this.#from.set(section.result.partition, last.offset + 1n);
        }
        this.shared.history.complete(invoke, "ok", { from, records } satisfies PollValue);
      } catch (error) {
        if (error instanceof ClauseViolation) throw error;
        this.shared.history.complete(invoke, "info", invoke.value, (error as Error).message);
      }
    }
  }
}

/** The faults the workload may inject, given what the target can do. */
type Fault = "connection-kill" | "client-crash" | "broker-restart";

/**
 * The Jepsen-style workload of the log plane: concurrent producers (idempotent
 * when the broker grants FEATURE_IDEMPOTENCE) and consumers (assigned every
 * partition), recording invoke/complete events, under connection kills,
 * client crashes and broker restarts; then a full read of the log, and the
 * history checker.
 */
export const historyCase: ConformanceCase = {
  id: "log/history",
  title: "Concurrent producers and consumers under connection kills, client crashes and broker restarts: no lost or phantom writes, no duplicates (idempotent producers), consistent offsets, monotonic sends and polls, no skipped offsets",
  plane: "log",
  clauses: ["PW-LOG-001", "PW-LOG-002", "PW-LOG-006", "PW-LOG-011", "PW-LOG-030", "PW-LOG-031", "PW-LOG-032", "PW-IDEM-003", "PW-IDEM-006", "PW-IDEM-007"],
  features: [Feature.LOG],
  needs: ["admin"],
  seeded: true,
  timeoutMs: 180_000,
  async run(ctx) {
    const quick = ctx.profile === "quick";
    const rand = random(ctx.seed);
    const topic = await ctx.topic(PARTITIONS);
    const idempotent = ctx.welcome.features.includes(Feature.IDEMPOTENCE);
    const shared: Shared = { ctx, topic, history: new HistoryRecorder(), idempotent, rand, running: true };
    let nextProcess = 0;
    const producers: Producer[] = Array.from({ length: 4 }, () => new Producer(nextProcess++, shared));
    const consumers: Consumer[] = Array.from({ length: 2 }, () => new Consumer(nextProcess++, shared));
    const loops: Array<Promise<void>> = [...producers, ...consumers].map((c) => c.loop());
    const faults: Fault[] = ["connection-kill", "client-crash", ...(ctx.target.capabilities.restart ? ["broker-restart" as const] : [])];
    const durationMs = quick ? 4500 : 30_000;
    const restartsAllowed = quick ? 1 : 4;
    let restarts = 0;
    const injected: string[] = [];
    const started = performance.now();
    while (performance.now() - started < durationMs) {
      await sleep(300 + rand() * 400);
      const fault = faults[Math.floor(rand() * faults.length)] as Fault;
      if (fault === "connection-kill") {
        const victim = [...producers, ...consumers][Math.floor(rand() * (producers.length + consumers.length))] as Client;
        victim.killConnection();
        injected.push(`kill p${victim.process}`);
      } else if (fault === "client-crash") {
        const index = Math.floor(rand() * producers.length);
        const victim = producers[index] as Producer;
        victim.crash();
        const successor = new Producer(nextProcess++, shared);
        producers[index] = successor;
        loops.push(successor.loop());
        injected.push(`crash p${victim.process}`);
      } else if (restarts < restartsAllowed) {
        restarts++;
        injected.push("restart");
        await ctx.target.restart();
      }
    }
    shared.running = false;
    await Promise.all(loops);
    const reader = await ctx.connect();
    const finalRecords: Array<[number, bigint, string]> = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const { records } = await readAll(reader, topic, p);
      for (const r of records) finalRecords.push([p, r.offset, decoder.decode(r.value ?? new Uint8Array(0))]);
    }
    const final = shared.history.invoke(nextProcess, "poll", { from: new Map(), final: true });
    shared.history.complete(final, "ok", { from: new Map(), records: finalRecords, final: true });
    const { anomalies, stats } = checkHistory(shared.history.events, { duplicatesAllowed: !idempotent });
    ctx.note(`${shared.history.events.length} events; sends ok ${stats.sends.ok}, failed ${stats.sends.fail}, indeterminate ${stats.sends.info}; ${stats.polls} polls; ${stats.acknowledgedValues} acknowledged values, ${stats.finalValues} in the final read; faults: ${injected.join(", ")}`);
    const first = anomalies[0];
    if (first !== undefined) {
      throw new ClauseViolation(first.clause, `${anomalies.length} anomal${anomalies.length === 1 ? "y" : "ies"} in the history, first: ${first.type}: ${first.message}${anomalies.length > 1 ? `; also ${anomalies.slice(1, 5).map((a) => `${a.type}: ${a.message}`).join("; ")}` : ""}`);
    }
  },
};
