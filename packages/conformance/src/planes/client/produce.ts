import { Acks, Capability, Compression } from "@polywire/proto/conformance/adapter";
import { FrameKind } from "@polywire/proto/session";
import type { TestRecord } from "../../batch/batch.js";
import { CODEC_NAMES, type CodecName } from "../../batch/compress.js";
import { check } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import { numbered } from "../log/records.js";
import { adapter, clientRecords, connected, produceDelivered, produceThroughClient, readBack, requires } from "./io.js";

const COMPRESSION_OF: Readonly<Record<CodecName, Compression>> = { none: Compression.NONE, gzip: Compression.GZIP, snappy: Compression.SNAPPY, lz4: Compression.LZ4, zstd: Compression.ZSTD };
const CAPABILITY_OF: Readonly<Record<CodecName, Capability | undefined>> = { none: undefined, gzip: Capability.COMPRESSION_GZIP, snappy: Capability.COMPRESSION_SNAPPY, lz4: Capability.COMPRESSION_LZ4, zstd: Capability.COMPRESSION_ZSTD };

const produceEncoding: ConformanceCase = {
  id: "client/produce-encoding",
  title: "The client's frames and batches follow the sender's rules (Hello first, header, odd unique ids, batch layout and CRC, base_offset 0) and every record field survives the round trip",
  plane: "log",
  role: "client",
  clauses: [
    "PW-SESS-001", "PW-SESS-017", "PW-FRAME-001", "PW-FRAME-002", "PW-FRAME-003", "PW-FRAME-010", "PW-FRAME-011",
    "PW-BATCH-001", "PW-BATCH-003", "PW-BATCH-004", "PW-BATCH-006", "PW-BATCH-007", "PW-BATCH-008", "PW-BATCH-009", "PW-BATCH-010",
    "PW-BATCH-011", "PW-BATCH-012", "PW-BATCH-013", "PW-BATCH-014",
  ],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { observer, handle } = await connected(ctx);
    await produceThroughClient(ctx, handle, topic, clientRecords(), { clause: "PW-LOG-002", storedClause: "PW-BATCH-013", what: "produced by the client", compression: Compression.NONE });
    check("PW-BATCH-001", observer.produces.length > 0, "the proxy saw no ProduceRequest from the client");
  },
};

const compression: ConformanceCase = {
  id: "client/compression",
  title: "Batches the client compresses with each codec it supports are in the spec's format (gzip member, Snappy raw block, LZ4 block, zstd frame) and decode exactly",
  plane: "log",
  role: "client",
  clauses: ["PW-COMP-001", "PW-COMP-002", "PW-COMP-003", "PW-COMP-005", "PW-COMP-008"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE);
    const topic = await ctx.topic(1);
    const { observer, handle } = await connected(ctx);
    const codecs = CODEC_NAMES.filter((c) => c !== "none" && adapter(ctx).can(CAPABILITY_OF[c] as Capability));
    if (codecs.length === 0) throw new Unsupported("the client adapter declares no compression codec");
    const all: TestRecord[] = [];
    for (const codec of codecs) {
      const records = numbered(`compressible-${codec}-${"z".repeat(100)}`, 30);
      const before = observer.produces.length;
      await produceDelivered(ctx, handle, topic, records, "PW-COMP-008", `compressed with ${codec}`, { compression: COMPRESSION_OF[codec] });
      const sent = observer.produces.slice(before);
      check("PW-COMP-001", sent.some((p) => (new DataView(p.batch.buffer, p.batch.byteOffset).getUint16(17) & 7) === COMPRESSION_OF[codec] - 1), `no batch the client sent for ${codec} used codec ${codec}`);
      all.push(...records);
    }
    await readBack(ctx, topic, all, "PW-COMP-008", "compressed by the client and read back");
  },
};

const idempotentResend: ConformanceCase = {
  id: "client/idempotent-resend",
  title: "An idempotent producer whose connection dies before the ack resends the same batch bytes with the same sequences, numbers sequences from 0 consecutively, and stores each record once",
  plane: "log",
  role: "client",
  clauses: ["PW-IDEM-002", "PW-IDEM-007"],
  needs: ["admin"],
  async run(ctx) {
    requires(ctx, Capability.PRODUCE, Capability.IDEMPOTENCE);
    const topic = await ctx.topic(1);
    let killed = false;
    const { observer, handle } = await connected(ctx, {
      fromBroker: (frame) => {
        if (!killed && frame.kind === FrameKind.PRODUCE_RESPONSE) {
          killed = true;
          return "kill";
        }
        return undefined;
      },
    });
    const records = numbered("idem", 12);
    await produceThroughClient(ctx, handle, topic, records, { clause: "PW-IDEM-007", what: "after the lost ack", acks: Acks.ALL, idempotent: true, timeoutMs: 60_000 });
    check("PW-IDEM-007", killed, "the proxy never saw a ProduceResponse to drop");
    const resent = observer.produces.filter((p, i) => observer.produces.findIndex((q) => q.baseSequence === p.baseSequence && q.producerId === p.producerId) !== i);
    check("PW-IDEM-007", resent.length > 0, "the client never resent the batch whose ack was lost");
  },
};

/** How the client produces: encoding, compression, idempotent resends. */
export const produceCases: readonly ConformanceCase[] = [produceEncoding, compression, idempotentResend];
