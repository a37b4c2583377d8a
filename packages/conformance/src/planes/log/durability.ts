import { Acks } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch, type TestRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { expectBrokerError, sleep } from "../expect.js";
import { initProducer } from "./idempotence.js";
import { highWatermark, readAll } from "./io.js";
import { checkRecords } from "./produce.js";
import { numbered } from "./records.js";

const decoder = new TextDecoder();

const restart: ConformanceCase = {
  id: "log/restart",
  title: "After a broker restart every acknowledged record is there with its offset and fields, the high watermark has not gone down, and a retry of the last idempotent batch is still a duplicate",
  plane: "log",
  clauses: ["PW-LOG-031", "PW-LOG-032", "PW-IDEM-006"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  needs: ["admin", "restart"],
  timeoutMs: 60_000,
  async run(ctx) {
    const topic = await ctx.topic(2);
    let session = await ctx.connect();
    const p = await initProducer(session);
    const written: TestRecord[] = [];
    let last: { bytes: Uint8Array; offset: bigint } | undefined;
    let seq = 0;
    for (let i = 0; i < 20; i++) {
      const records = numbered(`r${i}`, 1 + (i % 4));
      const bytes = encodeBatch(records, { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq });
      seq += records.length;
      const { message } = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: i % 2 === 0 ? Acks.ALL : Acks.LEADER }, bytes.slice());
      last = { bytes, offset: message.baseOffset };
      written.push(...records);
    }
    const before = await highWatermark(session, topic, 0);
    session.destroy();
    await ctx.target.restart();
    session = await ctx.connect();
    const after = await highWatermark(session, topic, 0);
    check("PW-LOG-032", after >= before, `the high watermark went from ${before} to ${after} across a restart`);
    const { records } = await readAll(session, topic, 0);
    checkRecords("PW-LOG-031", records, written, 0n, "after a restart");
    const retry = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.ALL }, (last as { bytes: Uint8Array }).bytes);
    checkEqual("PW-IDEM-006", { duplicate: retry.message.duplicate, baseOffset: retry.message.baseOffset }, { duplicate: true, baseOffset: last?.offset }, "a retry of the last acknowledged idempotent batch after a restart");
  },
};

interface Acked {
  readonly values: readonly string[];
  readonly offset: bigint;
  readonly bytes: Uint8Array;
  readonly idempotent: boolean;
}

const crash: ConformanceCase = {
  id: "log/crash",
  title: "SIGKILL while ACKS_ALL produces are in flight: after the restart the log is a valid dense prefix holding every acknowledged record at its offset, new appends follow it, and idempotent retries are duplicates",
  plane: "log",
  clauses: ["PW-LOG-006", "PW-LOG-032", "PW-LOG-034", "PW-LOG-030", "PW-IDEM-006", "PW-LOG-002"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  needs: ["crash"],
  timeoutMs: 120_000,
  async run(ctx) {
    const broker = await ctx.target.crashable();
    ctx.defer(() => broker.close());
    await broker.createTopic("crash", 1);
    const cycles = ctx.profile === "quick" ? 1 : 3;
    const acked: Acked[] = [];
    for (let cycle = 0; cycle < cycles; cycle++) {
      const session = await ctx.connectTo(broker.url);
      const plain = await ctx.connectTo(broker.url);
      const p = await initProducer(session);
      let seq = 0;
      let stop = false;
      let killed: Promise<void> | undefined;
      const killAfter = 60 + Math.floor(Math.random() * 60);
      const onAck = (entry: Acked): void => {
        acked.push(entry);
        // Kill the moment an acknowledgement arrives: the next ones are in flight.
        if (killed === undefined && acked.length >= killAfter * (cycle + 1)) {
          stop = true;
          killed = broker.kill();
        }
      };
      const pump = async (idempotent: boolean, lane: number): Promise<void> => {
        let n = 0;
        while (!stop) {
          const values = Array.from({ length: 1 + (n % 3) }, (_, j) => `c${cycle}-l${lane}-${n}-${j}`);
          const records = values.map((v) => ({ key: null, value: new TextEncoder().encode(v), headers: [], typeId: 0n, timestamp: BigInt(Date.now()) }));
          const bytes = idempotent ? encodeBatch(records, { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq }) : encodeBatch(records);
          if (idempotent) seq += records.length;
          n++;
          const s = idempotent ? session : plain;
          try {
            const { message } = await s.call(FrameKind.PRODUCE_REQUEST, { topic: "crash", partition: 0, acks: Acks.ALL }, bytes.slice(), { timeoutMs: 10_000 });
            onAck({ values, offset: message.baseOffset, bytes, idempotent });
          } catch {
            return;
          }
        }
      };
      // Idempotent batches one at a time per lane on one connection keep sequences in order; plain ones pipeline freely.
      await Promise.all([pump(true, 0), pump(false, 1), pump(false, 2), pump(false, 3)]);
      await killed;
      session.destroy();
      plain.destroy();
      await broker.start();
      const reader = await ctx.connectTo(broker.url);
      const { records, highWatermark: hw } = await readAll(reader, "crash", 0);
      const byOffset = new Map(records.map((r) => [r.offset, decoder.decode(r.value ?? new Uint8Array(0))]));
      for (const a of acked) {
        a.values.forEach((v, j) => {
          const at = a.offset + BigInt(j);
          check("PW-LOG-006", byOffset.get(at) === v, `the acknowledged ACKS_ALL record ${v} at offset ${at} is ${byOffset.has(at) ? `now ${byOffset.get(at)}` : "gone"} after SIGKILL and restart`);
        });
      }
      const end = acked.reduce((m, a) => (a.offset + BigInt(a.values.length) > m ? a.offset + BigInt(a.values.length) : m), 0n);
      check("PW-LOG-032", hw >= end, `high watermark ${hw} after the crash is below ${end}, the end of the acknowledged records`);
      const seen = new Set<string>();
      for (const v of byOffset.values()) {
        check("PW-LOG-034", !seen.has(v), `record ${v} is stored twice after the crash`);
        seen.add(v);
      }
      const lastIdempotent = [...acked].reverse().find((a) => a.idempotent && a.values[0]?.startsWith(`c${cycle}-`));
      if (lastIdempotent !== undefined) {
        const retry = await reader.call(FrameKind.PRODUCE_REQUEST, { topic: "crash", partition: 0, acks: Acks.ALL }, lastIdempotent.bytes.slice());
        checkEqual("PW-IDEM-006", { duplicate: retry.message.duplicate, baseOffset: retry.message.baseOffset }, { duplicate: true, baseOffset: lastIdempotent.offset }, "a retry of the last acknowledged idempotent batch after the crash");
      }
      const next = await reader.call(FrameKind.PRODUCE_REQUEST, { topic: "crash", partition: 0, acks: Acks.ALL }, encodeBatch(numbered(`after-crash-${cycle}`, 1)));
      checkEqual("PW-LOG-034", next.message.baseOffset, hw, "offset of the first append after the crash (right after the recovered prefix)");
      acked.push({ values: [`after-crash-${cycle}-0`], offset: next.message.baseOffset, bytes: new Uint8Array(0), idempotent: false });
      reader.destroy();
      ctx.note(`cycle ${cycle}: ${acked.length} acknowledged batches, high watermark ${hw} after the restart`);
    }
  },
};

const produceTimeout: ConformanceCase = {
  id: "log/produce-timeout",
  title: "An ACKS_ALL produce whose durability takes longer than timeout_ms is answered with TIMEOUT (retriable) at about timeout_ms",
  plane: "log",
  clauses: ["PW-LOG-008", "PW-SESS-013"],
  features: [Feature.LOG],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ slowSyncMs: 1500 });
    await variant.createTopic("slow", 1);
    const session = await ctx.connectTo(variant.url);
    const started = performance.now();
    const error = await expectBrokerError("PW-LOG-008", session.call(FrameKind.PRODUCE_REQUEST, { topic: "slow", partition: 0, acks: Acks.ALL, timeoutMs: 200 }, encodeBatch(numbered("slow", 1))), ErrorCode.TIMEOUT, "an ACKS_ALL produce with timeout_ms 200 on a disk taking 1500 ms");
    const took = performance.now() - started;
    check("PW-LOG-008", took >= 150 && took < 1400, `TIMEOUT came after ${Math.round(took)} ms for timeout_ms 200`);
    check("PW-SESS-013", error.retriable, "TIMEOUT must be retriable");
    await sleep(1500);
    const hw = await highWatermark(session, "slow", 0);
    ctx.note(`the timed-out batch ${hw === 1n ? "became" : "did not become"} durable later (either is allowed)`);
  },
};

/** Durability and recovery (§7.1, §7.4). */
export const durabilityCases: readonly ConformanceCase[] = [restart, crash, produceTimeout];
