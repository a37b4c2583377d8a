// Turns the message vector definitions of messages/*.mjs into byte-exact
// vectors: protobuf bytes (via protobuf-es) and, for messages that travel in
// frames, the whole frame (via the independent frame encoder of frame.mjs).
import { createRegistry, fromJson, isFieldSet, toBinary, toJson } from "@bufbuild/protobuf";
import { isDeepStrictEqual } from "node:util";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeHeader, encodeFrame } from "./frame.mjs";

const protoDir = fileURLToPath(new URL("../../proto/polywire/v1/", import.meta.url));
const stems = readdirSync(protoDir).filter((f) => f.endsWith(".proto")).map((f) => f.replace(/\.proto$/, "")).sort();
const files = await Promise.all(stems.map(async (stem) => (await import(`@polywire/proto/${stem}`))[`file_polywire_v1_${stem}`]));

export const registry = createRegistry(...files);
const frameKind = registry.getEnum("polywire.v1.FrameKind");

export const hex = (bytes) => Buffer.from(bytes).toString("hex");

/** Every message type of proto/, map entries excluded. */
export function allMessageTypes() {
  const out = [];
  const visit = (m) => {
    out.push(m);
    m.nestedMessages.forEach(visit);
  };
  files.forEach((f) => f.messages.forEach(visit));
  return out;
}

function kindFor(typeName) {
  const name = `FRAME_KIND_${typeName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()}`;
  return frameKind.values.find((v) => v.name === name);
}

/** Builds the vectors of one definitions list; throws on any inconsistency. */
export function buildMessageVectors(definitions) {
  return definitions.map((def) => {
    const schema = registry.getMessage(`polywire.v1.${def.type}`);
    if (!schema) throw new Error(`${def.name}: no message polywire.v1.${def.type}`);
    const message = fromJson(schema, def.json, { registry });
    const bytes = toBinary(schema, message);
    const canonical = toJson(schema, message, { registry });
    // The description must be the canonical proto3 JSON of the bytes, so that
    // every flavor's JSON parser reads the same message from it.
    if (!isDeepStrictEqual(canonical, def.json)) {
      throw new Error(`${def.name}: json is not canonical proto3 JSON:\n${JSON.stringify(canonical)}\n${JSON.stringify(def.json)}`);
    }
    const vector = {
      name: def.name,
      type: schema.typeName,
      description: def.description,
      clauses: def.clauses,
      json: def.json,
      hex: hex(bytes),
      allFieldsSet: schema.fields.every((field) => isFieldSet(message, field)),
    };
    const kind = kindFor(def.type);
    if (kind && !def.frame) throw new Error(`${def.name}: ${def.type} travels in ${kind.name} frames: give it a frame`);
    if (!kind && def.frame) throw new Error(`${def.name}: ${def.type} has no FrameKind`);
    if (kind) {
      const payload = def.frame.payload ?? new Uint8Array(0);
      const frame = encodeFrame({ kind: kind.number, correlationId: def.frame.correlationId, message: bytes, payload });
      vector.frame = { kind: kind.name, header: describeHeader(frame), payloadHex: hex(payload), hex: hex(frame) };
    }
    return vector;
  });
}

/** Throws unless every message type has a vector with every field set. */
export function assertComplete(vectors) {
  const missing = allMessageTypes()
    .filter((m) => !vectors.some((v) => v.type === m.typeName && v.allFieldsSet))
    .map((m) => m.typeName);
  if (missing.length > 0) throw new Error(`message types without a vector that sets every field: ${missing.join(", ")}`);
}
