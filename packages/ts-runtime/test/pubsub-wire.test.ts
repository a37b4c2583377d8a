import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DeliverySchema, PublishRequestSchema } from "@polywire/proto/pubsub";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeDelivery, encodePublish } from "../src/pubsub/wire.js";

const text = fc.oneof(fc.constantFrom("", "a.b", "orders.eu", "x"), fc.string({ maxLength: 80 }), fc.string({ unit: "grapheme", maxLength: 20 }));
const header = fc.record({ key: fc.string({ minLength: 1, maxLength: 10 }), value: fc.uint8Array({ maxLength: 10 }) });
const delivery = fc.record({
  subscriptionId: fc.integer({ min: 0, max: 0xffff_ffff }),
  subject: text,
  replyTo: text,
  headers: fc.array(header, { maxLength: 3 }),
  sequence: fc.bigInt({ min: 0n, max: 2n ** 49n }),
});

describe("pub/sub wire (PW-PUBSUB-020, PW-PUBSUB-023)", () => {
  it("PW-PUBSUB-023: decodeDelivery reads what protobuf-es reads, for runs of Deliveries (repeated subjects among them), and throws where it throws", () => {
    fc.assert(fc.property(fc.array(fc.tuple(delivery, fc.nat({ max: 3 })), { minLength: 1, maxLength: 20 }), (runs) => {
      for (const [init, repeat] of runs) {
        const bytes = toBinary(DeliverySchema, create(DeliverySchema, init));
        for (let i = 0; i <= repeat; i++) {
          const d = decodeDelivery(bytes);
          expect({ ...d, sequence: BigInt(d.sequence), headers: d.headers.map(([key, value]) => ({ key, value: [...value] })) })
            .toEqual({ ...init, headers: init.headers.map((h) => ({ key: h.key, value: [...h.value] })) });
        }
        // Cut short: both refuse it, or both read the same fields.
        const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
        let theirs: unknown;
        try {
          theirs = fromBinary(DeliverySchema, cut);
        } catch {
          expect(() => decodeDelivery(cut)).toThrow();
          continue;
        }
        const ours = decodeDelivery(cut);
        expect(ours.subject).toBe((theirs as { subject: string }).subject);
      }
    }), { numRuns: 300 });
  });

  it("PW-PUBSUB-020: encodePublish writes protobuf-es's PublishRequest byte for byte (for a subject, never empty in a publish the client sends)", () => {
    const encoder = new TextEncoder();
    fc.assert(fc.property(text.filter((s) => s !== ""), text, fc.array(header, { maxLength: 3 }), fc.boolean(), (subject, replyTo, headers, ack) => {
      const ours = encodePublish(subject, replyTo, headers.map((h) => [encoder.encode(h.key), h.value] as const), ack);
      expect([...ours]).toEqual([...toBinary(PublishRequestSchema, create(PublishRequestSchema, { subject, replyTo, headers, ack }))]);
    }), { numRuns: 300 });
  });
});
