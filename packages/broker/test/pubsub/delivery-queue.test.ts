import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeliveryQueue } from "../../src/pubsub/delivery-queue.js";

describe("the per-connection delivery queue (PW-PUBSUB-025, PW-PUBSUB-030)", () => {
  it("PW-PUBSUB-025: behaves as an array FIFO through growth, wrap-around, shrinking and removal of one subscription's entries", () => {
    type Op = { op: "push"; sub: number; n: number } | { op: "shift"; n: number } | { op: "remove"; sub: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("push" as const), sub: fc.nat({ max: 3 }), n: fc.integer({ min: 1, max: 1500 }) }),
      fc.record({ op: fc.constant("shift" as const), n: fc.integer({ min: 1, max: 1500 }) }),
      fc.record({ op: fc.constant("remove" as const), sub: fc.nat({ max: 3 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const queue = new DeliveryQueue<number, string>();
      const model: { sub: number; seq: number; msg: string; size: number }[] = [];
      let serial = 0;
      for (const o of ops) {
        if (o.op === "push") {
          for (let i = 0; i < o.n; i++) {
            const e = { sub: o.sub, seq: ++serial, msg: `m${serial}`, size: serial % 97 };
            queue.push(e.sub, e.seq, e.msg, e.size);
            model.push(e);
          }
        } else if (o.op === "shift") {
          for (let i = 0; i < o.n && model.length > 0; i++) {
            const e = model.shift()!;
            expect([queue.headSubscription, queue.headSequence, queue.headMessage, queue.headSize]).toEqual([e.sub, e.seq, e.msg, e.size]);
            queue.shift();
          }
        } else {
          const gone = model.filter((e) => e.sub === o.sub);
          expect(queue.removeSubscription(o.sub)).toEqual({ count: gone.length, size: gone.reduce((s, e) => s + e.size, 0) });
          model.splice(0, model.length, ...model.filter((e) => e.sub !== o.sub));
        }
        expect(queue.length).toBe(model.length);
      }
      for (const e of model) {
        expect(queue.headSequence).toBe(e.seq);
        queue.shift();
      }
      expect(queue.length).toBe(0);
    }), { numRuns: 200 });
  });
});
