import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeBatch, init } from "@polywire/wasm-codec";
import * as abi from "../src/abi.js";
import { codeOfStatus } from "../src/errors.js";
import { check, table, wasm, writeInput } from "../src/wasm.js";
import { rustConstants } from "./rust-constants.js";

beforeAll(() => init());

describe("the ABI between the loader and the WASM exports (src/abi.ts, src/abi.rs)", () => {
  // The same numbers src/abi.rs's test asserts for the Rust side.
  it("has the numbers both sides rely on", () => {
    expect([abi.IN_LENGTH_BYTES, abi.IN_TYPE_ID, abi.IN_KEY, abi.IN_NULL_LENGTH]).toEqual([4, 8, 16, -1]);
    expect([abi.IN_RECORD_FIXED, abi.IN_HEADER_FIXED]).toEqual([8 + 8 + 4 + 4 + 4, 4 + 4]);
    expect([abi.DECODE_RECORD_COUNT, abi.DECODE_SECTION_ADDR, abi.DECODE_SECTION_LEN, abi.DECODE_HEAD_WORDS]).toEqual([0, 1, 2, 3]);
    expect([
      abi.RECORD_TIMESTAMP_LO, abi.RECORD_TIMESTAMP_HI, abi.RECORD_TYPE_ID_LO, abi.RECORD_TYPE_ID_HI, abi.RECORD_KEY_ADDR,
      abi.RECORD_KEY_LEN, abi.RECORD_VALUE_ADDR, abi.RECORD_VALUE_LEN, abi.RECORD_HEADER_COUNT,
    ]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([abi.RECORD_WORDS, abi.HEADER_WORDS, abi.NULL_LEN]).toEqual([9, 4, 0xffff_ffff]);
    expect([abi.HEADER_KEY_ADDR, abi.HEADER_KEY_LEN, abi.HEADER_VALUE_ADDR, abi.HEADER_VALUE_LEN]).toEqual([0, 1, 2, 3]);
  });

  it("names every constant of src/abi.rs with the same name and value, and no other", () => {
    const rust = rustConstants("abi.rs");
    const ours = Object.entries(abi).filter((e): e is [string, number] => typeof e[1] === "number");
    expect(rust.size).toBeGreaterThan(20);
    expect(new Map(ours)).toEqual(rust);
  });

  it("maps every status the Rust ErrorCode returns to the code of the same name", () => {
    const source = readFileSync(new URL("../src/error.rs", import.meta.url), "utf8");
    const variants = [...source.matchAll(/^\s+(\w+) = (\d+),$/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    const names = new Map([...source.matchAll(/ErrorCode::(\w+) => "(\w+)"/g)].map((m) => [m[1]!, m[2]!]));
    expect(variants.length).toBe(7);
    for (const [variant, status] of variants) expect(codeOfStatus(status), variant).toBe(names.get(variant));
  });

  it("finds each field of the table the module fills at its named position", () => {
    const te = new TextEncoder();
    const batch = encodeBatch([
      { key: null, value: te.encode("v0"), timestamp: -2, typeId: 2 ** 40 + 3 },
      { key: te.encode("key"), value: null, timestamp: 2 ** 41, headers: [{ key: "a", value: null }, { key: "bc", value: te.encode("x") }] },
    ]);
    check(wasm().pw_decode_batch(writeInput(batch), 1 << 20, 1));
    const t = table();
    const mem = new Uint8Array(wasm().memory.buffer);
    const text = (addr: number, len: number) => new TextDecoder().decode(mem.subarray(addr, addr + len));
    expect(t[abi.DECODE_RECORD_COUNT]).toBe(2);
    const section = t[abi.DECODE_SECTION_ADDR]!;
    expect(Buffer.from(mem.subarray(section, section + t[abi.DECODE_SECTION_LEN]!)).equals(Buffer.from(batch.subarray(57)))).toBe(true);
    const r0 = abi.DECODE_HEAD_WORDS;
    const r1 = r0 + abi.RECORD_WORDS;
    expect(abi.wideAt(t, r0 + abi.RECORD_TIMESTAMP_LO, r0 + abi.RECORD_TIMESTAMP_HI)).toBe(-2);
    expect(abi.wideAt(t, r0 + abi.RECORD_TYPE_ID_LO, r0 + abi.RECORD_TYPE_ID_HI)).toBe(2 ** 40 + 3);
    expect([t[r0 + abi.RECORD_KEY_LEN], t[r0 + abi.RECORD_HEADER_COUNT]]).toEqual([abi.NULL_LEN, 0]);
    expect(text(t[r0 + abi.RECORD_VALUE_ADDR]!, t[r0 + abi.RECORD_VALUE_LEN]!)).toBe("v0");
    expect(abi.wideAt(t, r1 + abi.RECORD_TIMESTAMP_LO, r1 + abi.RECORD_TIMESTAMP_HI)).toBe(2 ** 41);
    expect(text(t[r1 + abi.RECORD_KEY_ADDR]!, t[r1 + abi.RECORD_KEY_LEN]!)).toBe("key");
    expect([t[r1 + abi.RECORD_VALUE_LEN], t[r1 + abi.RECORD_HEADER_COUNT]]).toEqual([abi.NULL_LEN, 2]);
    const h0 = r1 + abi.RECORD_WORDS;
    const h1 = h0 + abi.HEADER_WORDS;
    expect([text(t[h0 + abi.HEADER_KEY_ADDR]!, t[h0 + abi.HEADER_KEY_LEN]!), t[h0 + abi.HEADER_VALUE_LEN]]).toEqual(["a", abi.NULL_LEN]);
    expect(text(t[h1 + abi.HEADER_KEY_ADDR]!, t[h1 + abi.HEADER_KEY_LEN]!)).toBe("bc");
    expect(text(t[h1 + abi.HEADER_VALUE_ADDR]!, t[h1 + abi.HEADER_VALUE_LEN]!)).toBe("x");
    expect(t.length).toBe(h1 + abi.HEADER_WORDS);
  });
});
