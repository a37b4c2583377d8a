import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { expectBrokerError } from "../expect.js";
import { initProducer, sendIdempotent } from "./idempotence.js";
import { highWatermark } from "./io.js";
import { numbered } from "./records.js";

/** The variant's producer-id expiration period and how often it looks for idle ids, ms. */
const EXPIRE_MS = 400;
const CHECK_MS = 100;

/**
 * Producer-id expiry on a variant configured to forget idle ids after
 * {@link EXPIRE_MS}: an id that keeps writing is never forgotten, one that
 * went quiet is, and a forgotten id is refused as unknown everywhere, is
 * never handed out again, and nothing of its refused batch is appended.
 */
const producerExpiry: ConformanceCase = {
  id: "log/producer-expiry",
  title: "A producer id idle for the broker's expiration period is forgotten: its batches and InitProducer get UNKNOWN_PRODUCER, nothing is appended, and the id is never granted again; a busy id is never forgotten",
  plane: "log",
  clauses: ["PW-IDEM-011", "PW-IDEM-005", "PW-IDEM-008"],
  features: [Feature.LOG, Feature.IDEMPOTENCE],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ memory: true, producerIdExpirationMs: EXPIRE_MS, retentionCheckIntervalMs: CHECK_MS });
    const topic = `cfexpiry-${ctx.seed}-${process.pid}`;
    await variant.createTopic(topic, 1);
    const session = await ctx.connectTo(variant.url);
    const idle = await initProducer(session);
    const busy = await initProducer(session);
    let idleSeq = 0;
    let busySeq = 0;
    const send = async (who: "idle" | "busy", what: string): Promise<void> => {
      const records = numbered(what, 1);
      if (who === "idle") {
        await sendIdempotent(session, topic, 0, idle, idleSeq, records);
        idleSeq += 1;
      } else {
        await sendIdempotent(session, topic, 0, busy, busySeq, records);
        busySeq += 1;
      }
    };
    await send("idle", "i0");
    // The busy producer writes every EXPIRE_MS / 4 for three periods: never idle long enough to be forgotten.
    const until = performance.now() + 3 * EXPIRE_MS;
    let round = 0;
    while (performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, EXPIRE_MS / 4));
      try {
        await send("busy", `b${round++}`);
      } catch (error) {
        check("PW-IDEM-011", false, `a producer writing every ${EXPIRE_MS / 4} ms was refused after ${round} batches, with an expiration period of ${EXPIRE_MS} ms: ${(error as Error).message}`);
      }
    }
    const hw = await highWatermark(session, topic, 0);
    await expectBrokerError("PW-IDEM-011", sendIdempotent(session, topic, 0, idle, idleSeq, numbered("late", 1)), ErrorCode.UNKNOWN_PRODUCER, `a batch of a producer id idle for ${3 * EXPIRE_MS} ms, with an expiration period of ${EXPIRE_MS} ms`);
    checkEqual("PW-IDEM-005", await highWatermark(session, topic, 0), hw, "high watermark after a forgotten producer's batch was refused");
    await expectBrokerError("PW-IDEM-008", session.call(FrameKind.INIT_PRODUCER_REQUEST, idle), ErrorCode.UNKNOWN_PRODUCER, "InitProducer naming a forgotten producer id");
    const fresh = await initProducer(session);
    check("PW-IDEM-011", fresh.producerId !== idle.producerId && fresh.producerId !== busy.producerId, `a new producer got id ${fresh.producerId}, which was handed out before`);
    await sendIdempotent(session, topic, 0, fresh, 0, numbered("fresh", 1));
    await send("busy", "after");
  },
};

export const producerExpiryCases: readonly ConformanceCase[] = [producerExpiry];
