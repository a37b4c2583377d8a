import { Acks, MetadataRequestSchema, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind, PingSchema } from "@polywire/proto/session";
import { encodeBatch } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import type { RawFrameInit } from "../../wire/frame.js";
import { codeName, encode, LIMIT_CODES, RETRIABLE_CODES } from "../../wire/messages.js";
import { expectErrorFrame } from "../expect.js";
import { numbered } from "../log/records.js";

/**
 * Provokes one Error of each kind a broker can be pushed into from the
 * wire and checks each against the table of §12: a real code, `retriable`
 * exactly for the retriable codes, `limit` with the limit codes,
 * `supported_versions` only with UNSUPPORTED_VERSION, and the connection
 * kept or closed as the table's "connection" column says. (Every case's
 * monitor checks the same rules on every Error frame it sees; this case
 * makes sure each row of the table is exercised.)
 */
const errorTable: ConformanceCase = {
  id: "session/error-frames",
  title: "Error frames follow the table of §12: a real code, retriable exactly for the retriable codes, limit with limit errors, and the connection kept or closed as the table says",
  plane: "session",
  clauses: ["PW-ERR-001", "PW-ERR-002", "PW-ERR-003", "PW-ERR-004", "PW-SESS-012", "PW-SESS-013", "PW-ADMIN-021"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1, { "max.message.bytes": "100" });
    const produce = (t: string, batch: Uint8Array): Pick<RawFrameInit, "kind" | "message" | "payload"> => ({ kind: FrameKind.PRODUCE_REQUEST, message: encode(ProduceRequestSchema, { topic: t, partition: 0, acks: Acks.LEADER }), payload: batch });
    const provocations: Array<{ what: string; frame: Pick<RawFrameInit, "kind" | "message" | "payload" | "checksum" | "corruptChecksum">; code: ErrorCode; connection: "stays" | "closes"; hello?: boolean; limit?: bigint }> = [
      { what: "a produce to a missing topic", frame: produce(`${topic}-missing`, encodeBatch(numbered("x", 1))), code: ErrorCode.UNKNOWN_TOPIC, connection: "stays" },
      { what: "a 300-byte batch to a topic with max.message.bytes 100", frame: produce(topic, encodeBatch(numbered("y".repeat(200), 1))), code: ErrorCode.BATCH_TOO_LARGE, connection: "stays", limit: 100n },
      { what: "an undecodable MetadataRequest", frame: { kind: FrameKind.METADATA_REQUEST, message: new Uint8Array([0x0a, 0x09]) }, code: ErrorCode.MALFORMED_FRAME, connection: "stays" },
      { what: "an unknown frame kind", frame: { kind: 3999, message: new Uint8Array(0) }, code: ErrorCode.UNKNOWN_FRAME_KIND, connection: "stays" },
      { what: "a frame with a wrong CRC-32C", frame: { kind: FrameKind.PING, message: encode(PingSchema, { nonce: 1n }), checksum: true, corruptChecksum: true }, code: ErrorCode.CHECKSUM_MISMATCH, connection: "closes" },
      { what: "a MetadataRequest before Hello", frame: { kind: FrameKind.METADATA_REQUEST, message: encode(MetadataRequestSchema, {}) }, code: ErrorCode.HANDSHAKE_REQUIRED, connection: "closes", hello: false },
    ];
    for (const p of provocations) {
      const session = await ctx.connect({ handshake: p.hello !== false });
      const id = p.hello === false ? 1 : session.nextId();
      const closes = p.connection === "closes";
      if (!closes) session.expectAnswer(id, p.frame.kind);
      session.sendFrame({ ...p.frame, correlationId: id });
      const error = await expectErrorFrame(session, "PW-ERR-001", { code: p.code, correlationId: closes ? (p.hello === false ? "any" : 0) : id, connection: p.connection }, p.what);
      check("PW-ERR-001", error.code !== ErrorCode.UNSPECIFIED, `${p.what}: Error with ERROR_CODE_UNSPECIFIED`);
      check("PW-ERR-004", error.code !== ErrorCode.CONNECTION_LOST, `${p.what}: the broker sent ERROR_CODE_CONNECTION_LOST`);
      checkEqual("PW-ERR-002", error.retriable, RETRIABLE_CODES.has(error.code), `retriable of ${codeName(error.code)}`);
      check("PW-ERR-003", !LIMIT_CODES.has(error.code) || error.limit > 0n, `${codeName(error.code)} without Error.limit`);
      check("PW-ERR-003", error.supportedVersions === undefined, `${codeName(error.code)} with supported_versions`);
      if (p.limit !== undefined) checkEqual("PW-ADMIN-021", error.limit, p.limit, `Error.limit of ${p.what}`);
    }
  },
};

/** The error table (§12). */
export const errorCases: readonly ConformanceCase[] = [errorTable];
