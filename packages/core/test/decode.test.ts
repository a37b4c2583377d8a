import { readFileSync } from "node:fs";
import { createRegistry, fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { file_polywire_v1_admin, BucketSchema, TopicConfigSchema } from "@polywire/proto/admin";
import { file_polywire_v1_common, TopicPartitionsSchema } from "@polywire/proto/common";
import { file_polywire_v1_groups } from "@polywire/proto/groups";
import { file_polywire_v1_log, ProduceRequestSchema } from "@polywire/proto/log";
import { file_polywire_v1_pubsub } from "@polywire/proto/pubsub";
import { file_polywire_v1_rpc } from "@polywire/proto/rpc";
import { Feature, file_polywire_v1_session, HelloSchema, PingSchema } from "@polywire/proto/session";
import { describe, expect, it } from "vitest";
import { checkWireTypes, decodeMessage, frameKindTable, PolywireError } from "../src/index.js";

const registry = createRegistry(file_polywire_v1_admin, file_polywire_v1_common, file_polywire_v1_groups, file_polywire_v1_log, file_polywire_v1_pubsub, file_polywire_v1_rpc, file_polywire_v1_session);
const vectors = new URL("../../../spec/vectors/", import.meta.url);
const load = (name: string): any => JSON.parse(readFileSync(new URL(name, vectors), "utf8"));
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof PolywireError ? error.code : `not a PolywireError: ${String(error)}`;
  }
  return "accepted";
}

describe("decodeMessage (PW-FRAME-008, PW-FRAME-021)", () => {
  const messageVectors = ["handshake.json", "log.json", "groups.json", "pubsub.json", "rpc.json", "admin.json"].flatMap((f) => load(f).vectors as Array<{ name: string; type: string; hex: string }>);

  it("PW-FRAME-021: every message vector of spec/vectors passes the wire-type checks and decodes as protobuf-es decodes it", () => {
    expect(messageVectors.length).toBeGreaterThan(100);
    for (const v of messageVectors) {
      const schema = registry.getMessage(v.type);
      if (schema === undefined) throw new Error(`no schema ${v.type}`);
      expect(decodeMessage(schema, hex(v.hex)), v.name).toEqual(fromBinary(schema, hex(v.hex)));
    }
  });

  it("PW-FRAME-021: the invalid frame vectors of the clause fail to decode with MALFORMED_FRAME", () => {
    const invalid = (load("frames.json").invalid as Array<{ name: string; clauses: string[]; hex: string }>).filter((v) => v.clauses.includes("PW-FRAME-021"));
    expect(invalid.map((v) => v.name)).toEqual(["message-wrong-wire-type", "message-wrong-wire-type-truncated", "message-wrong-wire-type-nested"]);
    for (const v of invalid) {
      const bytes = hex(v.hex);
      const view = new DataView(bytes.buffer);
      const schema = frameKindTable.get(view.getUint16(6))?.message;
      if (schema === undefined) throw new Error(v.name);
      const message = bytes.subarray(16, 16 + view.getUint32(12));
      // protobuf-es alone reads each of them as a valid message.
      expect(() => fromBinary(schema, message), v.name).not.toThrow();
      expect(code(() => decodeMessage(schema, message)), v.name).toBe("MALFORMED_FRAME");
    }
  });

  it("PW-FRAME-021: a known field with any wire type but its own is refused, for every scalar kind", () => {
    // Ping.nonce uint64 (varint), Bucket.upper_bound double (64-bit), ProduceRequest.topic string (length-delimited).
    const wrong: Array<[typeof PingSchema | typeof BucketSchema | typeof ProduceRequestSchema, string]> = [
      [PingSchema, "0d 01000000"], [PingSchema, "09 0100000000000000"], [PingSchema, "0a 00"],
      [BucketSchema, "09 00"], [BucketSchema, "0d 00000000"], [BucketSchema, "0a 08 0000000000000000"],
      [ProduceRequestSchema, "08 01"], [ProduceRequestSchema, "0d 61626364"], [ProduceRequestSchema, "12 05"],
    ];
    for (const [schema, bytes] of wrong) expect(code(() => checkWireTypes(schema, hex(bytes))), `${schema.typeName} ${bytes}`).toBe("MALFORMED_FRAME");
    expect(decodeMessage(BucketSchema, hex("09 000000000000f03f 10 05"))).toMatchObject({ upperBound: 1, count: 5n });
  });

  it("PW-FRAME-021: repeated numeric fields are accepted packed and unpacked; maps and nested messages are checked inside", () => {
    const packed = toBinary(HelloSchema, create(HelloSchema, { features: [Feature.LOG, Feature.PUBSUB] }));
    expect(decodeMessage(HelloSchema, packed).features).toEqual([Feature.LOG, Feature.PUBSUB]);
    expect(decodeMessage(HelloSchema, hex("10 01 10 04")).features).toEqual([Feature.LOG, Feature.PUBSUB]);
    expect(decodeMessage(TopicPartitionsSchema, hex("0a 01 74 12 02 00 01 10 02")).partitions).toEqual([0, 1, 2]);
    expect(decodeMessage(TopicConfigSchema, hex("0a 06 0a 01 6b 12 01 76")).entries).toEqual({ k: "v" });
    // A map entry whose value (a string) arrives as a varint.
    expect(code(() => decodeMessage(TopicConfigSchema, hex("0a 05 0a 01 6b 10 01")))).toBe("MALFORMED_FRAME");
    // A packed field whose contents are not whole varints.
    expect(code(() => decodeMessage(TopicPartitionsSchema, hex("12 01 80")))).toBe("MALFORMED_FRAME");
  });

  it("PW-FRAME-021: unknown fields of every valid wire type are skipped; field 0, wire types 6 and 7, overruns and unmatched groups are refused (PW-COMPAT-003)", () => {
    const unknown = hex("f8 06 05  f9 06 0102030405060708  fa 06 02 ffff  fd 06 01020304  fb 06 f8 06 01 fc 06");
    expect(decodeMessage(PingSchema, Buffer.concat([unknown, hex("08 07")])).nonce).toBe(7n);
    for (const bad of ["00 01", "0e 01", "0f 01", "08", "08 ffffffffffffffffffff01", "0a 05 00", "fb 06 08 01", "fc 06", "fb 06 fc 07"]) {
      expect(code(() => decodeMessage(PingSchema, hex(bad))), bad).toBe("MALFORMED_FRAME");
    }
  });

  it("PW-FRAME-021: a string that is not UTF-8 is MALFORMED_FRAME", () => {
    expect(code(() => decodeMessage(ProduceRequestSchema, hex("0a 02 c3 28")))).toBe("MALFORMED_FRAME");
  });
});
