// compat.json: messages carrying what a newer peer might send, an unknown
// field or an unknown enum value (PW-COMPAT-003, PW-COMPAT-004). Decoding
// must succeed and give `json`; re-encoding gives `hex` in flavors that keep
// unknown fields and `knownHex` in those that drop them.
import { create, fromJson, toBinary } from "@bufbuild/protobuf";
import { hex, registry } from "./messages.mjs";
import { uvarint } from "./varint.mjs";
import { text } from "./samples.mjs";

const tag = (field, wireType) => uvarint((field << 3) | wireType);

function unknownFields(type, json, extra, description, clauses) {
  const schema = registry.getMessage(`polywire.v1.${type}`);
  const known = toBinary(schema, fromJson(schema, json, { registry }));
  return { name: `${type.toLowerCase()}-unknown-fields`, type: schema.typeName, description, clauses, json, knownHex: hex(known), hex: hex(Uint8Array.from([...known, ...extra])) };
}

function unknownEnum(name, type, init, json, description, clauses) {
  const schema = registry.getMessage(`polywire.v1.${type}`);
  const bytes = toBinary(schema, create(schema, init));
  return { name, type: schema.typeName, description, clauses, json, knownHex: hex(bytes), hex: hex(bytes) };
}

export function compatVectors() {
  return {
    description:
      "Forward-compatibility vectors (spec §13). Each message must decode without error to `json` (canonical proto3 JSON: unknown fields are not shown, unknown enum values appear as numbers). Re-encoding the decoded message must give `hex` in flavors that preserve unknown fields, or `knownHex` in flavors that drop them.",
    vectors: [
      unknownFields(
        "Hello",
        { versions: { min: 1, max: 2 }, features: ["FEATURE_LOG"], clientId: "future-client" },
        [...tag(100, 0), ...uvarint(7), ...tag(101, 2), ...uvarint(6), ...text("future"), ...tag(102, 5), 1, 2, 3, 4, ...tag(103, 1), 1, 2, 3, 4, 5, 6, 7, 8],
        "A Hello from a newer client with fields 100 (varint), 101 (bytes), 102 (fixed32) and 103 (fixed64) this version does not know.",
        ["PW-COMPAT-003", "PW-SESS-002"],
      ),
      unknownFields(
        "ProduceResponse",
        { baseOffset: "42" },
        [...tag(15, 2), ...uvarint(3), 0x08, 0x96, 0x01],
        "A ProduceResponse with an unknown embedded message in field 15.",
        ["PW-COMPAT-003"],
      ),
      unknownEnum("hello-unknown-feature", "Hello", { versions: { min: 1, max: 1 }, features: [1, 99] }, { versions: { min: 1, max: 1 }, features: ["FEATURE_LOG", 99] }, "A Hello asking for Feature 99, unknown to v1: decoded and kept as 99, never granted.", ["PW-COMPAT-004", "PW-SESS-005"]),
      unknownEnum("error-unknown-code", "Error", { code: 999, message: "from the future" }, { code: 999, message: "from the future" }, "An Error with code 999: handled as ERROR_CODE_INTERNAL, reported as 999.", ["PW-COMPAT-004", "PW-SESS-014"]),
    ],
  };
}
