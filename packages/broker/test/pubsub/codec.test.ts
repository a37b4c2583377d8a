// The hand-written PublishRequest decoder and Delivery encoder against
// protobuf-es, the reference, on random messages: same message or both throw.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DeliverySchema, PublishRequestSchema } from "@polywire/proto/pubsub";
import { decodeMessage } from "@polywire/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DeliveryEncoder, encodeShared } from "../../src/pubsub/delivery-codec.js";
import { decodePublishRequest } from "../../src/pubsub/publish-codec.js";

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 10 }), fc.string({ minLength: 120, maxLength: 200 }));
const header = fc.record({ key: text, value: fc.uint8Array({ maxLength: 20 }) });
const request = fc.record({ subject: text, replyTo: text, headers: fc.array(header, { maxLength: 3 }), ack: fc.boolean() });

function outcome(decode: () => unknown): unknown {
  try {
    return { ok: decode() };
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

describe("pub/sub codecs", () => {
  it("PW-PUBSUB-020, PW-PUBSUB-023: decodePublishRequest reads what protobuf-es reads, from valid messages, with extra bytes and cut short", () => {
    fc.assert(fc.property(request, fc.uint8Array({ maxLength: 6 }), fc.nat(), (init, extra, cut) => {
      const bytes = toBinary(PublishRequestSchema, create(PublishRequestSchema, init));
      for (const candidate of [bytes, new Uint8Array([...bytes, ...extra]), bytes.subarray(0, cut % (bytes.length + 1))]) {
        expect(outcome(() => decodePublishRequest(candidate))).toEqual(outcome(() => decodeMessage(PublishRequestSchema, candidate)));
      }
    }), { numRuns: 2_000 });
  });

  it("PW-PUBSUB-023: a Delivery of encodeShared and DeliveryEncoder, laid at any offset of a frame, is protobuf-es's Delivery, byte for byte, and its size exact", () => {
    const encoder = new DeliveryEncoder();
    fc.assert(fc.property(request, fc.integer({ min: 1, max: 0xffff_ffff }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 40 }), (init, id, sequence, at) => {
      const headers = init.headers.map((h) => create((DeliverySchema.fields.find((f) => f.name === "headers") as { message: Parameters<typeof create>[0] }).message, h)) as never;
      encoder.set(id, sequence, encodeShared(init.subject, init.replyTo, headers));
      const frame = new Uint8Array(at + encoder.size + 5).fill(0xee);
      encoder.encodeInto(frame, at);
      expect(frame.subarray(0, at).every((b) => b === 0xee) && frame.subarray(at + encoder.size).every((b) => b === 0xee)).toBe(true);
      const ours = frame.slice(at, at + encoder.size);
      const theirs = toBinary(DeliverySchema, create(DeliverySchema, { subscriptionId: id, subject: init.subject, replyTo: init.replyTo, headers, sequence: BigInt(sequence) }));
      expect(ours).toEqual(theirs);
      expect(fromBinary(DeliverySchema, ours).sequence).toBe(BigInt(sequence));
    }), { numRuns: 2_000 });
  });
});
