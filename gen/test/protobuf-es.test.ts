import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { esMessages, esSchema, registry } from "./support/flavors.js";
import { bytes, compatVectors, hexOf, messageVectors, title } from "./support/vectors.js";

describe("protobuf-es (gen/ts) against spec/vectors", () => {
  it("PW-COMPAT-010: has a vector for every message of proto/", () => {
    const covered = new Set(messageVectors.map((v) => v.type));
    expect(esMessages.map((m) => m.typeName).filter((t) => !covered.has(t))).toEqual([]);
  });

  it.each(messageVectors.map((v) => [title(v), v] as const))("%s decodes and re-encodes byte for byte", (_, v) => {
    const schema = esSchema(v.type);
    const decoded = fromBinary(schema, bytes(v.hex));
    expect(hexOf(toBinary(schema, decoded))).toBe(v.hex);
    expect(toJson(schema, decoded, { registry })).toEqual(v.json);
    expect(hexOf(toBinary(schema, fromJson(schema, v.json as JsonValue, { registry })))).toBe(v.hex);
  });

  it.each(compatVectors.map((v) => [title(v), v] as const))("%s decodes, keeping unknown fields and enum values", (_, v) => {
    const schema = esSchema(v.type);
    const decoded = fromBinary(schema, bytes(v.hex));
    expect(toJson(schema, decoded, { registry })).toEqual(v.json);
    expect(hexOf(toBinary(schema, decoded))).toBe(v.hex);
  });
});
