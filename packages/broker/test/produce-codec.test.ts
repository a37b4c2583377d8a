import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ProduceRequestSchema, ProduceResponseSchema } from "@polywire/proto/log";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "@polywire/core";
import { decodeProduceRequest, encodeProduceResponse } from "../src/produce-codec.js";

function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

// A field the broker does not know: a new number with any wire type (PW-COMPAT-003).
const unknownField = fc.tuple(fc.integer({ min: 5, max: 5000 }), fc.constantFrom(0, 1, 2, 5), fc.uint8Array({ maxLength: 12 })).map(([field, wireType, data]) => {
  const out: number[] = [];
  varint(out, field * 8 + wireType);
  if (wireType === 0) varint(out, data.length);
  else if (wireType === 1) out.push(...[...data, 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8));
  else if (wireType === 5) out.push(...[...data, 0, 0, 0, 0].slice(0, 4));
  else {
    varint(out, data.length);
    out.push(...data);
  }
  return Uint8Array.from(out);
});

function outcome(decode: () => unknown): unknown {
  try {
    return { ok: decode() };
  } catch {
    return "throws";
  }
}

// The reference is the runtime's decodeMessage: protobuf-es fromBinary behind the wire-type checks of PW-FRAME-021.
describe("decodeProduceRequest, against decodeMessage (PW-FRAME-008, PW-FRAME-021, PW-COMPAT-003)", () => {
  const request = fc.record({
    topic: fc.oneof(fc.stringMatching(/^[a-z0-9._-]{0,40}$/), fc.string(), fc.string({ unit: "grapheme" })),
    partition: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    acks: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    timeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  });

  it("decodes random requests, with unknown fields before, between and after, as fromBinary does", () => {
    fc.assert(
      fc.property(request, fc.array(unknownField, { maxLength: 3 }), fc.array(unknownField, { maxLength: 2 }), (init, before, after) => {
        const known = toBinary(ProduceRequestSchema, create(ProduceRequestSchema, init));
        const bytes = Buffer.concat([...before, known, ...after]);
        expect(decodeProduceRequest(bytes)).toEqual(decodeMessage(ProduceRequestSchema, bytes));
        expect(decodeProduceRequest(known)).toEqual(fromBinary(ProduceRequestSchema, known));
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with decodeMessage on arbitrary bytes, repeated fields, wrong wire types and truncations: the same message, or both throw", () => {
    const fields = fc.array(fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 6 }), fc.constantFrom(0, 1, 2, 5), fc.integer({ min: 0, max: 2 ** 53 - 1 })).map(([field, wire, value]) => {
        const out = [(field << 3) | wire];
        varint(out, value);
        return out;
      }),
      fc.uint8Array({ maxLength: 10 }).map((text) => {
        const out = [0x0a];
        varint(out, text.length);
        return [...out, ...text];
      }),
    ), { maxLength: 8 }).map((parts) => Uint8Array.from(parts.flat()));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), fields), fc.nat(), (bytes, cut) => {
        for (const b of [bytes, bytes.subarray(0, bytes.length === 0 ? 0 : cut % bytes.length)]) {
          expect(outcome(() => decodeProduceRequest(b))).toEqual(outcome(() => decodeMessage(ProduceRequestSchema, b)));
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("encodeProduceResponse, against protobuf-es toBinary (PW-LOG-002)", () => {
  it("writes the bytes toBinary writes for random answers, large and negative values included", () => {
    const int64 = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }),
      fc.constantFrom(0n, 127n, 128n, 2n ** 53n - 1n, 2n ** 53n, -1n),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    );
    fc.assert(
      fc.property(fc.record({ baseOffset: int64, logAppendTimeMs: int64, logStartOffset: int64, duplicate: fc.boolean() }), (answer) => {
        const reference = toBinary(ProduceResponseSchema, create(ProduceResponseSchema, answer));
        expect(Buffer.compare(encodeProduceResponse(answer), reference)).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });
});
