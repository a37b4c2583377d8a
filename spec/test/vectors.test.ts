import { readFileSync, readdirSync } from "node:fs";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { readBatch } from "./support/batch-reader.js";
import { writeBatch } from "./support/batch-writer.js";
import { readFrame, writeFrame } from "./support/frame-reader.js";
import { murmur2 } from "./support/murmur2.js";
import { WireError } from "./support/wire-error.js";
import { allFiles, frameKindNumber, messageSchema, registry } from "./support/registry.js";
import { decodeMessage } from "@polywire/core";

const dir = new URL("../vectors/", import.meta.url);
// The vector files are JSON described in their own `description`; the tests
// read them loosely typed and check every field they rely on.
type Json = any;
const load = (name: string): Json => JSON.parse(readFileSync(new URL(name, dir), "utf8"));
/** it.each cases titled with the vector's clauses and name. */
const cases = (list: Json[]): [string, Json][] => list.map((v) => [`${v.clauses.join(" ")}: ${v.name}`, v]);
const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));
const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");
const clauseIds = new Set<string>(JSON.parse(readFileSync(new URL("../clauses.json", dir), "utf8")).clauses.map((c: { id: string }) => c.id));

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof WireError) return error.code;
    throw error;
  }
  return "no error";
}

const MESSAGE_FILES = ["handshake.json", "log.json", "groups.json", "pubsub.json", "rpc.json", "admin.json"];
const messageVectors = MESSAGE_FILES.flatMap((f) => load(f).vectors as MessageVector[]);
const frames = load("frames.json");
const batches = load("batches.json");
const compression = load("compression.json");
const partitioning = load("partitioning.json");

interface MessageVector {
  name: string;
  type: string;
  clauses: string[];
  json: unknown;
  hex: string;
  allFieldsSet: boolean;
  frame?: { kind: string; header: Record<string, number>; payloadHex: string; hex: string };
}

describe("spec/vectors", () => {
  it("PW-COMPAT-009: every vector file is present and names only clauses that exist", () => {
    const files = readdirSync(dir).sort();
    expect(files).toEqual(["admin.json", "batches.json", "compat.json", "compression.json", "frame-kinds.json", "frames.json", "groups.json", "handshake.json", "log.json", "partitioning.json", "pubsub.json", "rpc.json"]);
    for (const file of files) {
      const refs = [...readFileSync(new URL(file, dir), "utf8").matchAll(/PW-[A-Z]+-\d{3}/g)].map((m) => m[0]);
      expect(refs.filter((id) => !clauseIds.has(id)), file).toEqual([]);
    }
  });

  it("PW-COMPAT-010: every message type of proto/ has a vector with every field set", () => {
    const types = new Set(messageVectors.filter((v) => v.allFieldsSet).map((v) => v.type));
    const missing = allFiles.flatMap((f) => f.messages).map((m: DescMessage) => m.typeName).filter((t) => !types.has(t));
    expect(missing).toEqual([]);
  });

  describe("message frames", () => {
    it.each(messageVectors.filter((v) => v.frame).map((v) => [`${v.clauses.join(" ")}: ${v.name}`, v] as const))("PW-FRAME-001 PW-FRAME-010 %s", (_, v) => {
      const frame = readFrame(bytes(v.frame!.hex));
      expect(frame.kind).toBe(frameKindNumber(v.frame!.kind));
      expect(hexOf(frame.message)).toBe(v.hex);
      expect(hexOf(frame.payload)).toBe(v.frame!.payloadHex);
      const { message: _m, payload: _p, checksum: _c, ...header } = frame;
      expect(header).toEqual(v.frame!.header);
      const unsolicited = ["FRAME_KIND_DELIVERY", "FRAME_KIND_SLOW_CONSUMER", "FRAME_KIND_GROUP_NOTICE", "FRAME_KIND_DRAIN", "FRAME_KIND_CLOSE"];
      if (unsolicited.includes(v.frame!.kind)) expect(frame.correlationId).toBe(0);
      else if (v.frame!.kind === "FRAME_KIND_CALL_REQUEST" && (v.json as { responderId?: number }).responderId) expect(frame.correlationId % 2).toBe(0);
      // A connection-level Error carries 0 (PW-FRAME-010, PW-FRAME-016).
      else if (v.frame!.kind === "FRAME_KIND_ERROR" && frame.correlationId === 0) expect(v.clauses).toContain("PW-FRAME-016");
      else expect(frame.correlationId % 2).toBe(1);
    });
  });

  describe("frames.json", () => {
    it.each(cases(frames.valid))("%s decodes to its description", (_, v) => {
      const frame = readFrame(bytes(v.hex));
      const { message, payload, checksum, ...header } = frame;
      expect(header).toEqual(v.header);
      expect(frame.kind).toBe(frameKindNumber(v.kindName));
      expect(checksum).toBe(v.checksum);
      expect(hexOf(payload)).toBe(v.payloadHex);
      expect(hexOf(message)).toBe(v.message.hex);
      const schema = messageSchema(v.message.type);
      expect(toJson(schema, fromBinary(schema, message), { registry })).toEqual(v.message.json);
      if (!v.decodeOnly) expect(hexOf(writeFrame(frame.kind, frame.correlationId, message, payload, checksum !== null))).toBe(v.hex);
    });

    it.each(cases(frames.invalid))("%s is rejected with its error", (_, v) => {
      const decode = () => {
        const frame = readFrame(bytes(v.hex), v.maxFrameSize);
        const kind = registry.getEnum("polywire.v1.FrameKind")!.values.find((k) => k.number === frame.kind && k.number !== 0);
        if (!kind) throw new WireError("ERROR_CODE_UNKNOWN_FRAME_KIND", `kind ${frame.kind}`);
        const type = kind.name.replace(/^FRAME_KIND_/, "").toLowerCase().replace(/(^|_)([a-z])/g, (_m: string, _u: string, c: string) => c.toUpperCase());
        try {
          // The runtime's decoder: protobuf-es behind the wire-type checks of PW-FRAME-021.
          decodeMessage(messageSchema(`polywire.v1.${type}`), frame.message);
        } catch (error) {
          throw new WireError("ERROR_CODE_MALFORMED_FRAME", (error as Error).message);
        }
      };
      expect(errorOf(decode)).toBe(v.error);
      const closes = !["ERROR_CODE_UNKNOWN_FRAME_KIND"].includes(v.error) && !(v.clauses as string[]).includes("PW-FRAME-014");
      expect(v.connection).toBe(closes ? "closes" : "stays");
    });
  });

  describe("batches.json", () => {
    it.each(cases(batches.valid))("%s decodes to its records and re-encodes byte for byte", (_, v) => {
      const view = readBatch(bytes(v.hex));
      expect(view.header).toEqual(v.header);
      expect(view.records).toEqual(v.records);
      expect(view.recordsHex).toBe(v.recordsHex);
      expect(hexOf(writeBatch(view))).toBe(v.hex);
    });

    it.each(cases(batches.accepted))("%s is accepted: it decodes to its records (timestamps from first_timestamp + delta) and re-encodes from them", (_, v) => {
      const view = readBatch(bytes(v.hex));
      expect(view.header).toEqual(v.header);
      expect(view.records).toEqual(v.records);
      expect(BigInt(view.records[0]?.timestampDelta ?? "0")).not.toBe(0n);
      expect(hexOf(writeBatch(view))).toBe(v.hex);
    });

    it.each(cases(batches.invalid))("%s is rejected with its error", (_, v) => {
      expect(errorOf(() => readBatch(bytes(v.hex)))).toBe(v.error);
    });
  });

  describe("compression.json", () => {
    it.each(cases(compression.valid))("%s decodes to its records", (_, v) => {
      const view = readBatch(bytes(v.hex));
      expect(view.header).toEqual(v.header);
      expect(view.header.codec).toBe(v.codec);
      expect(view.records).toEqual(v.records);
      expect(view.recordsHex).toBe(v.recordsHex);
      expect(v.hex.endsWith(v.compressedHex)).toBe(true);
    });

    it("PW-COMP-008: a compressed vector's records equal the canonical codec-none batch of the same records", () => {
      const orders = batches.valid.find((v: { name: string }) => v.name === "orders-uncompressed");
      for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
        const v = compression.valid.find((c: { name: string }) => c.name === `orders-${codec}`);
        expect(v.records).toEqual(orders.records);
        expect(v.recordsHex).toBe(orders.recordsHex);
      }
    });

    it.each(cases(compression.invalid))("%s is rejected with its error", (_, v) => {
      expect(errorOf(() => readBatch(bytes(v.hex), v.maxUncompressedBatchSize))).toBe(v.error);
    });
  });

  describe("partitioning.json", () => {
    // Published in apache/kafka UtilsTest.testMurmur2.
    const KAFKA: Record<string, number> = {
      "21": -973932308,
      foobar: -790332482,
      "a-little-bit-long-string": -985981536,
      "a-little-bit-longer-string": -1486304829,
      lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
      abc: 479470107,
    };

    it("PW-PART-002: the keys from Kafka's own test carry Kafka's published hashes", () => {
      const fromKafka = partitioning.vectors.filter((v: { source: string }) => v.source.startsWith("apache/kafka"));
      expect(Object.fromEntries(fromKafka.map((v: { keyText: string; murmur2: number }) => [v.keyText, v.murmur2]))).toEqual(KAFKA);
    });

    it.each((partitioning.vectors as Json[]).map((v): [string, Json] => [v.keyHex, v]))("PW-PART-002: key %s maps to its partitions", (_, v) => {
      expect(murmur2(bytes(v.keyHex))).toBe(v.murmur2);
      expect(v.positive).toBe(v.murmur2 & 0x7fffffff);
      expect(Object.keys(v.partitions).map(Number)).toEqual(partitioning.counts);
      for (const n of partitioning.counts) expect(v.partitions[String(n)]).toBe(v.positive % n);
      if (v.keyText !== null) expect(hexOf(new TextEncoder().encode(v.keyText))).toBe(v.keyHex);
    });
  });
});
