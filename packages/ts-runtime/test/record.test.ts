import { decodeBatch, encodeBatch, init, openBatch } from "@polywire/wasm-codec";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ConsumedRecord, Record } from "../src/index.js";
import { prepareRecord } from "../src/record.js";

beforeAll(() => init());

describe("Record builders", () => {
  it("bytes, text, json and tombstone records", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(Record.bytes("t", bytes, { key: "k", partition: 2 })).toEqual({ topic: "t", value: bytes, key: "k", partition: 2 });
    expect(Record.text("t", "héllo", { typeId: 9 })).toEqual({ topic: "t", value: "héllo", typeId: 9 });
    expect(Record.json("t", { a: [1, "x"] }, { headers: { h: "v" } })).toEqual({ topic: "t", value: "{\"a\":[1,\"x\"]}", headers: { h: "v" } });
    expect(Record.tombstone("t", "k")).toEqual({ topic: "t", key: "k", value: null });
    expect(() => Record.json("t", () => 1)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => Record.text("t", 5 as unknown as string)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("PW-BATCH-010/PW-BATCH-012: size bounds hold for any record, and aloneBatchSize is the exact size of its batch", () => {
    const header = fc.tuple(fc.string({ maxLength: 20 }), fc.oneof(fc.constant(null), fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 })));
    fc.assert(fc.property(
      fc.record({
        key: fc.oneof(fc.constant(null), fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })),
        value: fc.oneof(fc.constant(null), fc.string({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 })),
        headers: fc.array(header, { maxLength: 5 }),
        typeId: fc.nat({ max: 2 ** 40 }),
        timestamp: fc.integer({ min: -1e13, max: 1e13 }),
      }),
      fc.array(fc.integer({ min: -1e12, max: 1e12 }), { minLength: 1, maxLength: 20 }),
      (input, otherTimestamps) => {
        const record = prepareRecord({ topic: "t", ...input, headers: input.headers.map(([k, v]) => [k.replace(/[\ud800-\udfff]/g, "x"), typeof v === "string" ? v.replace(/[\ud800-\udfff]/g, "x") : v] as [string, string | Uint8Array | null]) }, 0);
        expect(encodeBatch([record]).byteLength).toBe(record.aloneBatchSize);
        // In a batch with other records at other times, it never takes more than `size`.
        const others = otherTimestamps.map((timestamp) => prepareRecord({ topic: "t", value: null, timestamp }, 0));
        const without = encodeBatch(others).byteLength;
        const withIt = encodeBatch([...others, record]).byteLength;
        expect(withIt - without).toBeLessThanOrEqual(record.size);
      },
    ));
  });

  it("lone surrogates have no UTF-8 form and are refused", () => {
    expect(() => prepareRecord({ topic: "t", value: "a\udc00" }, 0)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => prepareRecord({ topic: "t", value: "ok", key: "\ud83d" }, 0)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(prepareRecord({ topic: "t", value: "😀" }, 0).value).toEqual(new TextEncoder().encode("😀"));
  });
});

describe("ConsumedRecord helpers", () => {
  function consumed(records: Parameters<typeof encodeBatch>[0]): ConsumedRecord[] {
    return decodeBatch(encodeBatch(records)).records.map((r) => new ConsumedRecord("t", 1, r));
  }

  it("text(), json(), keyText(), header() and headerText()", () => {
    const enc = new TextEncoder();
    const [r] = consumed([{ key: enc.encode("kéy"), value: enc.encode("{\"n\":1}"), headers: [{ key: "a", value: enc.encode("1") }, { key: "a", value: enc.encode("2") }, { key: "n", value: null }], typeId: 3, timestamp: 42 }]);
    if (r === undefined) throw new Error("no record");
    expect([r.topic, r.partition, r.offset, r.timestamp, r.typeId]).toEqual(["t", 1, 0n, 42, 3]);
    expect(r.text()).toBe("{\"n\":1}");
    expect(r.json()).toEqual({ n: 1 });
    expect(r.keyText()).toBe("kéy");
    expect(r.headerText("a")).toBe("1");
    expect(r.header("n")).toBeNull();
    expect(r.headerText("n")).toBeNull();
    expect(r.header("missing")).toBeUndefined();
  });

  it("PW-BATCH-013: a record read lazily from an opened batch has the fields of a decoded one, built once", () => {
    const enc = new TextEncoder();
    const batch = encodeBatch([
      { key: null, value: enc.encode("a"), timestamp: 10 },
      { key: enc.encode("k"), value: null, headers: [{ key: "h", value: enc.encode("x") }, { key: "h", value: null }], typeId: 2 ** 40, timestamp: 11 },
    ], { baseOffset: 7n });
    const decoded = decodeBatch(batch).records;
    const opened = openBatch(batch);
    for (let i = 0; i < 2; i++) {
      const eager = new ConsumedRecord("t", 3, decoded[i] as (typeof decoded)[number]);
      const lazy = new ConsumedRecord("t", 3, opened, i);
      for (const field of ["topic", "partition", "offset", "timestamp", "key", "value", "headers", "typeId"] as const) {
        expect(lazy[field]).toEqual(eager[field]);
      }
      expect(lazy.value).toBe(lazy.value);
      expect(lazy.headers).toBe(lazy.headers);
    }
    expect(new ConsumedRecord("t", 3, opened, 1).headerText("h")).toBe("x");
    for (const index of [-1, 2, 0.5]) {
      expect(() => new ConsumedRecord("t", 3, opened, index)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });

  it("PW-BATCH-013: a null value stays null; decoding helpers refuse it and invalid data with INVALID_ARGUMENT", () => {
    const [tombstone, notJson, notUtf8] = consumed([
      { key: null, value: null, timestamp: 1 },
      { key: null, value: new TextEncoder().encode("{oops"), timestamp: 1 },
      { key: new Uint8Array([0xff]), value: new Uint8Array([0xc3, 0x28]), timestamp: 1 },
    ]);
    expect(tombstone?.value).toBeNull();
    expect(tombstone?.keyText()).toBeNull();
    expect(() => tombstone?.text()).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => notJson?.json()).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => notUtf8?.text()).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => notUtf8?.keyText()).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
