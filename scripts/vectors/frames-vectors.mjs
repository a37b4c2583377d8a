// frames.json: valid frames (with and without CHECKSUM, with payload, with a
// header extension) and invalid frames, each labelled with the ErrorCode the
// receiver must report and what happens to the connection (PW-FRAME-013,
// PW-FRAME-014).
import { create, toBinary } from "@bufbuild/protobuf";
import { crc32c } from "./crc32c.mjs";
import { describeHeader, encodeFrame } from "./frame.mjs";
import { hex, registry } from "./messages.mjs";
import { orderBatch, text } from "./samples.mjs";

const kinds = registry.getEnum("polywire.v1.FrameKind");
const kind = (name) => kinds.values.find((v) => v.name === `FRAME_KIND_${name}`).number;
const encode = (type, init) => {
  const schema = registry.getMessage(`polywire.v1.${type}`);
  return toBinary(schema, create(schema, init));
};

const ping = encode("Ping", { nonce: 7n });
const publish = encode("PublishRequest", { subject: "sensors.t1", ack: true });
const produce = encode("ProduceRequest", { topic: "orders", partition: 3, acks: 2 });

function valid(name, description, clauses, spec, message) {
  const frame = encodeFrame(spec);
  return {
    name,
    description,
    clauses,
    header: describeHeader(frame),
    kindName: kinds.values.find((v) => v.number === spec.kind).name,
    message: message ? { type: `polywire.v1.${message.type}`, json: message.json, hex: hex(spec.message ?? new Uint8Array(0)) } : null,
    payloadHex: hex(spec.payload ?? new Uint8Array(0)),
    checksum: spec.checksum ? new DataView(frame.buffer).getUint32(frame.length - 4) : null,
    hex: hex(frame),
  };
}

// Rewrites header bytes of an encoded frame and, if it has a checksum,
// recomputes it, so that each invalid frame has exactly one defect.
function patch(frame, edit, { fixChecksum = true } = {}) {
  const copy = frame.slice();
  const view = new DataView(copy.buffer);
  edit(view, copy);
  if (fixChecksum && (copy[5] & 1) === 1 && copy.length >= 20) view.setUint32(copy.length - 4, crc32c(copy.subarray(0, copy.length - 4)));
  return copy;
}

function invalid(name, description, clauses, error, connection, bytes, extra = {}) {
  return { name, description, clauses, error, connection, ...extra, hex: hex(bytes) };
}

export function frameVectors() {
  const pingFrame = encodeFrame({ kind: kind("PING"), correlationId: 3, message: ping });
  const pingChecked = encodeFrame({ kind: kind("PING"), correlationId: 3, message: ping, checksum: true });
  const batch = orderBatch();
  return {
    description:
      "Frame vectors (spec §2). Valid frames must decode to the header fields, message and payload given, and encoding those must give `hex` exactly (except `decodeOnly` ones). Invalid frames must make a receiver report `error`; `connection` says whether it then closes (framing errors, PW-FRAME-013) or keeps serving (PW-FRAME-009, PW-FRAME-014). `maxFrameSize`, when given, is the receiver's limit.",
    valid: [
      valid("ping", "A Ping, no checksum, no payload.", ["PW-FRAME-001", "PW-FRAME-002"], { kind: kind("PING"), correlationId: 3, message: ping }, { type: "Ping", json: { nonce: "7" } }),
      valid("ping-checksum", "The same Ping with CHECKSUM: CRC-32C over every preceding byte, length included.", ["PW-FRAME-001", "PW-FRAME-004"], { kind: kind("PING"), correlationId: 3, message: ping, checksum: true }, { type: "Ping", json: { nonce: "7" } }),
      valid("pong-empty-message", "A Pong whose message is all defaults: message_length 0, the smallest frame (length 12).", ["PW-FRAME-001", "PW-FRAME-005"], { kind: kind("PONG"), correlationId: 3 }, { type: "Pong", json: {} }),
      valid("publish-with-payload", "A PublishRequest with a body in the payload section.", ["PW-FRAME-001", "PW-PUBSUB-020"], { kind: kind("PUBLISH_REQUEST"), correlationId: 5, message: publish, payload: text("21.5C") }, { type: "PublishRequest", json: { subject: "sensors.t1", ack: true } }),
      valid("produce-with-batch-and-checksum", "A ProduceRequest carrying a record batch, with CHECKSUM.", ["PW-FRAME-001", "PW-FRAME-004", "PW-LOG-001"], { kind: kind("PRODUCE_REQUEST"), correlationId: 7, message: produce, payload: batch, checksum: true }, { type: "ProduceRequest", json: { topic: "orders", partition: 3, acks: "ACKS_LEADER" } }),
      valid("delivery-unsolicited", "An unsolicited frame: correlation id 0.", ["PW-FRAME-010"], { kind: kind("DELIVERY"), correlationId: 0, message: encode("Delivery", { subscriptionId: 1, subject: "a.b", sequence: 1n }), payload: text("x") }, { type: "Delivery", json: { subscriptionId: 1, subject: "a.b", sequence: "1" } }),
      valid("broker-initiated-call", "A CallRequest the broker sends to a responder: even correlation id.", ["PW-FRAME-010", "PW-RPC-011"], { kind: kind("CALL_REQUEST"), correlationId: 2, message: encode("CallRequest", { service: "svc", endOfStream: true, responderId: 1 }) }, { type: "CallRequest", json: { service: "svc", endOfStream: true, responderId: 1 } }),
      valid("max-correlation-id", "Correlation id 2^32-1 (odd, client-initiated).", ["PW-FRAME-010", "PW-FRAME-011"], { kind: kind("PING"), correlationId: 0xffffffff, message: ping }, { type: "Ping", json: { nonce: "7" } }),
      {
        ...valid("header-extension", "header_size 20: four extension bytes a v1 receiver must skip. Decode only: v1 senders always write 16.", ["PW-FRAME-002"], { kind: kind("PING"), correlationId: 3, message: ping, extension: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) }, { type: "Ping", json: { nonce: "7" } }),
        decodeOnly: true,
      },
      {
        ...valid("header-extension-checksum", "A header extension with CHECKSUM; the checksum covers the extension too. Decode only.", ["PW-FRAME-002", "PW-FRAME-004"], { kind: kind("PING"), correlationId: 3, message: ping, checksum: true, extension: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }, { type: "Ping", json: { nonce: "7" } }),
        decodeOnly: true,
      },
    ],
    invalid: [
      invalid("header-size-below-16", "header_size 12.", ["PW-FRAME-002", "PW-FRAME-013"], "ERROR_CODE_MALFORMED_FRAME", "closes", patch(pingFrame, (v) => v.setUint8(4, 12))),
      invalid("reserved-flag-bit", "Flag bit 1 set.", ["PW-FRAME-003", "PW-FRAME-013"], "ERROR_CODE_MALFORMED_FRAME", "closes", patch(pingFrame, (v) => v.setUint8(5, 0x02))),
      invalid("reserved-flag-bit-7", "Flag bit 7 set together with CHECKSUM (checksum valid).", ["PW-FRAME-003", "PW-FRAME-013"], "ERROR_CODE_MALFORMED_FRAME", "closes", patch(pingChecked, (v) => v.setUint8(5, 0x81))),
      invalid("checksum-mismatch", "CHECKSUM set, last byte of the CRC flipped.", ["PW-FRAME-004", "PW-FRAME-013"], "ERROR_CODE_CHECKSUM_MISMATCH", "closes", patch(pingChecked, (v, b) => (b[b.length - 1] ^= 0xff), { fixChecksum: false })),
      invalid("checksum-over-payload-mismatch", "CHECKSUM set, one payload byte changed after the CRC was computed.", ["PW-FRAME-004", "PW-FRAME-013"], "ERROR_CODE_CHECKSUM_MISMATCH", "closes", patch(encodeFrame({ kind: kind("PUBLISH_REQUEST"), correlationId: 5, message: publish, payload: text("21.5C"), checksum: true }), (v, b) => (b[b.length - 5] ^= 0x01), { fixChecksum: false })),
      invalid("length-below-header", "length 8: shorter than the 12 header bytes after it (the 8 bytes are present).", ["PW-FRAME-005", "PW-FRAME-013"], "ERROR_CODE_MALFORMED_FRAME", "closes", Uint8Array.of(0, 0, 0, 8, 16, 0, 0, kind("PING"), 0, 0, 0, 3)),
      invalid("message-length-past-end", "message_length 40 in a frame with 2 bytes after the header.", ["PW-FRAME-005", "PW-FRAME-013"], "ERROR_CODE_MALFORMED_FRAME", "closes", patch(pingFrame, (v) => v.setUint32(12, 40))),
      invalid("message-length-into-checksum", "CHECKSUM set and message_length counting the 4 checksum bytes as message (checksum valid).", ["PW-FRAME-001", "PW-FRAME-005", "PW-FRAME-013"], "ERROR_CODE_MALFORMED_FRAME", "closes", patch(pingChecked, (v) => v.setUint32(12, v.getUint32(12) + 4))),
      invalid("checksum-flag-without-room", "CHECKSUM set but length leaves no room for the 4 checksum bytes after the message.", ["PW-FRAME-005", "PW-FRAME-013"], "ERROR_CODE_MALFORMED_FRAME", "closes", patch(pingFrame, (v) => v.setUint8(5, 0x01), { fixChecksum: false })),
      invalid("frame-too-large", "length 1,048,572 (total size 1 MiB) against a receiver limit of 65,536: rejected right after the length is read, so only the 16 header bytes are given.", ["PW-FRAME-006", "PW-FRAME-013"], "ERROR_CODE_FRAME_TOO_LARGE", "closes", patch(pingFrame, (v) => v.setUint32(0, 1048572)).subarray(0, 16), { maxFrameSize: 65536 }),
      invalid("frame-one-byte-too-large", "Total size 65,537 against a limit of 65,536 (header bytes only).", ["PW-FRAME-006", "PW-FRAME-007", "PW-FRAME-013"], "ERROR_CODE_FRAME_TOO_LARGE", "closes", patch(pingFrame, (v) => v.setUint32(0, 65533)).subarray(0, 16), { maxFrameSize: 65536 }),
      invalid("unknown-kind", "kind 4000, not a FrameKind: answered with an Error carrying correlation id 3; the connection stays open.", ["PW-FRAME-009"], "ERROR_CODE_UNKNOWN_FRAME_KIND", "stays", patch(pingFrame, (v) => v.setUint16(6, 4000)), { correlationId: 3 }),
      invalid("kind-zero", "kind 0 (FRAME_KIND_UNSPECIFIED) names no message.", ["PW-FRAME-009"], "ERROR_CODE_UNKNOWN_FRAME_KIND", "stays", patch(pingFrame, (v) => v.setUint16(6, 0)), { correlationId: 3 }),
      invalid("message-does-not-decode", "A Ping frame whose message is a truncated varint (08 ff): the header is fine, so the stream stays in sync.", ["PW-FRAME-008", "PW-FRAME-014"], "ERROR_CODE_MALFORMED_FRAME", "stays", encodeFrame({ kind: kind("PING"), correlationId: 3, message: Uint8Array.of(0x08, 0xff) }), { correlationId: 3 }),
      invalid("message-wrong-wire-type", "A Ping whose nonce (field 1, a varint) arrives as an empty length-delimited field (0a 00): PW-FRAME-021 makes that a message that fails to decode, although some protobuf libraries read a nonce of 0 from it.", ["PW-FRAME-008", "PW-FRAME-014", "PW-FRAME-021"], "ERROR_CODE_MALFORMED_FRAME", "stays", encodeFrame({ kind: kind("PING"), correlationId: 3, message: Uint8Array.of(0x0a, 0x00) }), { correlationId: 3 }),
      invalid("message-wrong-wire-type-truncated", "A ProduceRequest whose partition (field 2, a varint) arrives length-delimited with length 5 and no bytes after it (12 05): wrong wire type and truncated.", ["PW-FRAME-008", "PW-FRAME-014", "PW-FRAME-021"], "ERROR_CODE_MALFORMED_FRAME", "stays", encodeFrame({ kind: kind("PRODUCE_REQUEST"), correlationId: 3, message: Uint8Array.of(...produce.subarray(0, 8), 0x12, 0x05) }), { correlationId: 3 }),
      invalid("message-wrong-wire-type-nested", "A FetchRequest whose first partition's offset (field 3 of FetchPartition, a varint) arrives as an empty length-delimited field: the rule holds inside nested messages.", ["PW-FRAME-008", "PW-FRAME-014", "PW-FRAME-021"], "ERROR_CODE_MALFORMED_FRAME", "stays", encodeFrame({ kind: kind("FETCH_REQUEST"), correlationId: 3, message: Uint8Array.of(0x0a, 0x05, 0x0a, 0x01, 0x74, 0x1a, 0x00) }), { correlationId: 3 }),
    ],
  };
}
