import { fromBinary, ScalarType, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { PolywireError } from "../errors.js";

// Wire types of the protobuf binary format.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const I32 = 5;
// As protobuf-es: deeper nesting fails instead of exhausting the stack.
const MAX_DEPTH = 100;

/** What a known field may look like on the wire. */
interface FieldRule {
  /** The wire type of the field's type. */
  readonly wire: number;
  /** A repeated numeric field: LEN (packed) is accepted too. */
  readonly packable: boolean;
  /** The message a LEN (or group) field holds, checked recursively. */
  readonly child: DescMessage | undefined;
  /** A map field: the rules of its entry's key (1) and value (2). */
  readonly entry: ReadonlyMap<number, FieldRule> | undefined;
  readonly name: string;
}

function scalarWire(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return I64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return I32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return LEN;
    default:
      return VARINT;
  }
}

function ruleOf(field: DescField): FieldRule {
  const name = field.name;
  switch (field.fieldKind) {
    case "scalar":
      return { wire: scalarWire(field.scalar), packable: false, child: undefined, entry: undefined, name };
    case "enum":
      return { wire: VARINT, packable: false, child: undefined, entry: undefined, name };
    case "message":
      return { wire: field.delimitedEncoding ? START_GROUP : LEN, packable: false, child: field.message, entry: undefined, name };
    case "list": {
      if (field.listKind === "message") return { wire: field.delimitedEncoding ? START_GROUP : LEN, packable: false, child: field.message, entry: undefined, name };
      const wire = field.listKind === "enum" ? VARINT : scalarWire(field.scalar);
      return { wire, packable: wire !== LEN, child: undefined, entry: undefined, name };
    }
    case "map": {
      const key: FieldRule = { wire: scalarWire(field.mapKey), packable: false, child: undefined, entry: undefined, name: "key" };
      const value: FieldRule = field.mapKind === "message"
        ? { wire: LEN, packable: false, child: field.message, entry: undefined, name: "value" }
        : { wire: field.mapKind === "enum" ? VARINT : scalarWire(field.scalar), packable: false, child: undefined, entry: undefined, name: "value" };
      return { wire: LEN, packable: false, child: undefined, entry: new Map([[1, key], [2, value]]), name };
    }
  }
}

const rulesCache = new WeakMap<DescMessage, ReadonlyMap<number, FieldRule>>();

function rulesOf(schema: DescMessage): ReadonlyMap<number, FieldRule> {
  let rules = rulesCache.get(schema);
  if (rules === undefined) {
    rules = new Map(schema.fields.map((f) => [f.number, ruleOf(f)]));
    rulesCache.set(schema, rules);
  }
  return rules;
}

function malformed(where: string, detail: string): PolywireError {
  return new PolywireError("MALFORMED_FRAME", `${where}: ${detail} (PW-FRAME-021)`);
}

/** A cursor over one protobuf section. */
class Cursor {
  pos: number;
  constructor(readonly bytes: Uint8Array, readonly where: string, pos = 0) {
    this.pos = pos;
  }

  /** Reads a varint of at most 10 bytes as a number (exact up to 2^53; tags and lengths are far below). */
  varint(end: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw malformed(this.where, "a varint runs past the end");
      const b = this.bytes[this.pos++] as number;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
    throw malformed(this.where, "a varint is longer than 10 bytes");
  }

  skip(count: number, end: number): void {
    if (count > end - this.pos) throw malformed(this.where, "a value runs past the end");
    this.pos += count;
  }
}

/** Checks the fields in `cursor.pos..end` against `rules`; `group` is the field number of an enclosing group. */
function checkFields(cursor: Cursor, end: number, rules: ReadonlyMap<number, FieldRule> | undefined, type: string, depth: number, group?: number): void {
  if (depth > MAX_DEPTH) throw malformed(cursor.where, `nesting deeper than ${MAX_DEPTH}`);
  while (cursor.pos < end) {
    const tag = cursor.varint(end);
    const number = Math.floor(tag / 8);
    const wire = tag % 8;
    if (number === 0 || number > 0x1fff_ffff) throw malformed(cursor.where, `field number ${number} in ${type}`);
    if (wire === END_GROUP) {
      if (group === number) return;
      throw malformed(cursor.where, `an end-group tag for field ${number} in ${type} closes no group`);
    }
    const rule = rules?.get(number);
    if (rule !== undefined && wire !== rule.wire && !(rule.packable && wire === LEN)) {
      throw malformed(cursor.where, `field ${number} (${rule.name}) of ${type} has wire type ${wire}, expected ${rule.wire}`);
    }
    switch (wire) {
      case VARINT:
        cursor.varint(end);
        break;
      case I64:
        cursor.skip(8, end);
        break;
      case I32:
        cursor.skip(4, end);
        break;
      case LEN: {
        const length = cursor.varint(end);
        const start = cursor.pos;
        cursor.skip(length, end);
        if (rule?.child !== undefined) checkMessage(new Cursor(cursor.bytes, cursor.where, start), start + length, rule.child, depth + 1);
        else if (rule?.entry !== undefined) checkFields(new Cursor(cursor.bytes, cursor.where, start), start + length, rule.entry, `${type}.${rule.name} entry`, depth + 1);
        else if (rule?.packable === true) checkPacked(new Cursor(cursor.bytes, cursor.where, start), start + length, rule.wire, `${type}.${rule.name}`);
        break;
      }
      case START_GROUP:
        checkFields(cursor, end, rule?.child === undefined ? undefined : rulesOf(rule.child), rule?.child?.typeName ?? "an unknown group", depth + 1, number);
        break;
      default:
        throw malformed(cursor.where, `wire type ${wire} of field ${number} in ${type}`);
    }
  }
  if (group !== undefined) throw malformed(cursor.where, `the group of field ${group} in ${type} has no end tag`);
}

function checkMessage(cursor: Cursor, end: number, schema: DescMessage, depth: number): void {
  checkFields(cursor, end, rulesOf(schema), schema.typeName, depth);
}

function checkPacked(cursor: Cursor, end: number, wire: number, where: string): void {
  const size = wire === I64 ? 8 : wire === I32 ? 4 : 0;
  if (size > 0) {
    if ((end - cursor.pos) % size !== 0) throw malformed(cursor.where, `packed ${where} is not a whole number of ${size}-byte values`);
    return;
  }
  while (cursor.pos < end) cursor.varint(end);
}

/**
 * Checks that `bytes` follow the protobuf binary format for `schema` as
 * PW-FRAME-021 requires, wire types of known fields included (protobuf-es
 * reads a known field by its declared type whatever wire type it came
 * with). Throws a MALFORMED_FRAME `PolywireError` naming the field.
 */
export function checkWireTypes(schema: DescMessage, bytes: Uint8Array): void {
  checkMessage(new Cursor(bytes, `cannot decode ${schema.typeName}`), bytes.length, schema, 0);
}

/**
 * Decodes a frame's message section: the wire-format checks of
 * PW-FRAME-021, then protobuf-es `fromBinary` (which also checks UTF-8).
 * Every failure is a MALFORMED_FRAME `PolywireError`.
 */
export function decodeMessage<S extends DescMessage>(schema: S, bytes: Uint8Array): MessageShape<S> {
  checkWireTypes(schema, bytes);
  try {
    return fromBinary(schema, bytes);
  } catch (cause) {
    throw new PolywireError("MALFORMED_FRAME", `cannot decode ${schema.typeName}: ${(cause as Error).message}`, { cause });
  }
}
