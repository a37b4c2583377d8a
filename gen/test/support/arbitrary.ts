// fast-check arbitraries of valid messages, built from protobuf-es
// descriptors so that every message of proto/ is covered without a list to
// keep in sync.
//
// Two corners are left out because ts-proto encodes them differently from
// protobuf-es, Go and Python (cross-flavor.test.ts pins both down): a double
// of -0.0, which ts-proto drops as if it were 0, and a map entry whose key or
// value is the default, whose fields ts-proto omits inside the entry.
import { ScalarType, create } from "@bufbuild/protobuf";
import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import fc from "fast-check";

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
const UINT64 = { min: 0n, max: 2n ** 64n - 1n };

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.DOUBLE:
      return fc.double().filter((d) => !Object.is(d, -0));
    case ScalarType.FLOAT:
      return fc.float();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.integer();
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 0xffffffff });
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.bigInt(INT64);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt(UINT64);
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.STRING:
      return fc.string({ unit: "grapheme", maxLength: 12 });
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 16 });
  }
}

function notDefault(value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length > 0;
  return value !== 0 && value !== 0n && value !== "" && value !== false;
}

function single(field: DescField, kind: "scalar" | "enum" | "message", depth: number): fc.Arbitrary<unknown> {
  if (kind === "enum") return fc.constantFrom(...field.enum!.values.map((v) => v.number));
  if (kind === "message") return messageArbitrary(field.message!, depth + 1);
  return scalar(field.scalar!);
}

function fieldArbitrary(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return single(field, "enum", depth);
    case "message":
      return fc.option(messageArbitrary(field.message, depth + 1), { nil: undefined });
    case "list":
      return fc.array(single(field, field.listKind, depth), { maxLength: 4 });
    case "map":
      if (field.mapKey !== ScalarType.STRING) throw new Error(`${field.name}: only string map keys are generated`);
      return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), single(field, field.mapKind, depth).filter(notDefault), { maxKeys: 4 });
  }
}

/** Random valid messages of one type, as protobuf-es messages. */
export function messageArbitrary(schema: DescMessage, depth = 0): fc.Arbitrary<Message> {
  if (depth > 8) throw new Error(`${schema.typeName}: message nesting deeper than 8`);
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of schema.fields) shape[field.localName] = fieldArbitrary(field, depth);
  return fc.record(shape).map((init) => create(schema, init as never));
}
