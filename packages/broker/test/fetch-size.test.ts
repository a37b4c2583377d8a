import { create, toBinary } from "@bufbuild/protobuf";
import { FetchResponseSchema } from "@polywire/proto/log";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pendingResultSize, resultSize } from "../src/fetch-size.js";

const result = fc.record({
  topic: fc.oneof(fc.stringMatching(/^[a-z0-9._-]{0,300}$/), fc.string({ unit: "grapheme", maxLength: 40 })),
  partition: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  errorCode: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 133 })),
  highWatermark: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })),
  logStartOffset: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })),
  recordsSize: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
});

describe("FetchResponse sizing (PW-FRAME-007, PW-LOG-018)", () => {
  it("PW-FRAME-007: resultSize is the exact number of bytes each result adds to the encoded FetchResponse", () => {
    fc.assert(fc.property(fc.array(result, { maxLength: 4 }), (results) => {
      const bytes = toBinary(FetchResponseSchema, create(FetchResponseSchema, { partitions: results }));
      expect(results.reduce((sum, r) => sum + resultSize(r), 0)).toBe(bytes.byteLength);
    }), { numRuns: 2000 });
  });

  it("PW-FRAME-007: pendingResultSize bounds the result of a partition without records, whatever its offsets and error", () => {
    fc.assert(fc.property(result, (r) => {
      expect(resultSize({ ...r, recordsSize: 0 })).toBeLessThanOrEqual(pendingResultSize(r.topic, r.partition));
    }), { numRuns: 2000 });
  });
});
