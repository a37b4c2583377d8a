#!/usr/bin/env node
// Writes spec/vectors/*.json. Deterministic: no clocks, no randomness, maps
// in key order, so running it twice changes nothing. The frame and record
// batch encoders here are a small reference implementation of the spec,
// independent of packages/wasm-codec, which is tested against these files.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { batchVectors } from "./batch-vectors.mjs";
import { compatVectors } from "./compat-vectors.mjs";
import { compressionVectors } from "./compression-vectors.mjs";
import { frameKindVectors } from "./frame-kinds-vectors.mjs";
import { frameVectors } from "./frames-vectors.mjs";
import { assertComplete, buildMessageVectors } from "./messages.mjs";
import admin from "./messages/admin.mjs";
import groups from "./messages/groups.mjs";
import log from "./messages/log.mjs";
import pubsub from "./messages/pubsub.mjs";
import rpc from "./messages/rpc.mjs";
import session from "./messages/session.mjs";
import { partitionVectors } from "./partition-vectors.mjs";

const out = fileURLToPath(new URL("../../spec/vectors/", import.meta.url));

const MESSAGE_FORMAT =
  "Message vectors: `json` is the message in canonical proto3 JSON, `hex` its protobuf encoding (fields in field-number order, packed repeated scalars, map entries in key order). Every flavor must decode `hex` to `json` and re-encode it to `hex` byte for byte. `allFieldsSet` marks vectors in which every field of the message is set to a non-default value. `frame`, for messages that travel in frames, is the whole frame (spec §2) with that message and `payloadHex` as payload, no checksum.";

const messageFiles = {
  "handshake.json": ["Session plane: handshake, authentication, keepalive, errors, drain, close (session.proto).", session],
  "log.json": ["Log plane: produce, fetch, list offsets, metadata, producer ids (log.proto).", log],
  "groups.json": ["Consumer groups: heartbeat, offset commit and fetch (groups.proto, TopicPartitions from common.proto).", groups],
  "pubsub.json": ["Pub/sub: subscribe, publish, delivery, slow consumer (pubsub.proto, Header from common.proto).", pubsub],
  "rpc.json": ["Request/reply: responders, calls, chunks, credit, cancel (rpc.proto).", rpc],
  "admin.json": ["Admin plane: Connect request and response messages (admin.proto).", admin],
};

function write(name, body) {
  const text = `${JSON.stringify(body, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
  writeFileSync(`${out}${name}`, text);
}

mkdirSync(out, { recursive: true });
const allMessages = [];
for (const [file, [description, definitions]] of Object.entries(messageFiles)) {
  const vectors = buildMessageVectors(definitions);
  allMessages.push(...vectors);
  write(file, { description: `${description} ${MESSAGE_FORMAT}`, vectors });
}
assertComplete(allMessages);
write("frames.json", frameVectors());
write("frame-kinds.json", frameKindVectors());
write("batches.json", batchVectors());
write("compression.json", compressionVectors());
write("partitioning.json", partitionVectors());
write("compat.json", compatVectors());
console.log(`spec vectors: ${allMessages.length} message vectors and frames, frame kinds, batches, compression, partitioning, compat -> spec/vectors/`);
