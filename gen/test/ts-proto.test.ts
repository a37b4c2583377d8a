import { describe, expect, it } from "vitest";
import { esMessages, tsProto } from "./support/flavors.js";
import { bytes, compatVectors, hexOf, messageVectors, title } from "./support/vectors.js";

describe("ts-proto (gen/ts-proto) against spec/vectors", () => {
  it("PW-COMPAT-010: has encode and decode for every message of proto/", () => {
    for (const m of esMessages) expect(() => tsProto(m.typeName), m.typeName).not.toThrow();
  });

  it.each(messageVectors.map((v) => [title(v), v] as const))("%s decodes and re-encodes byte for byte", (_, v) => {
    const fns = tsProto(v.type);
    const decoded = fns.decode(bytes(v.hex));
    expect(hexOf(fns.encode(decoded).finish())).toBe(v.hex);
    expect(hexOf(fns.encode(fns.fromJSON(v.json)).finish())).toBe(v.hex);
    expect(hexOf(fns.encode(fns.fromJSON(fns.toJSON(decoded))).finish())).toBe(v.hex);
  });

  // ts-proto is generated without unknown-field support, so it re-encodes
  // only what it knows (knownHex); unknown enum values it keeps as numbers.
  it.each(compatVectors.map((v) => [title(v), v] as const))("%s decodes, dropping unknown fields", (_, v) => {
    const fns = tsProto(v.type);
    expect(hexOf(fns.encode(fns.decode(bytes(v.hex))).finish())).toBe(v.knownHex);
  });
});
