import { Acks, OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch, recordDifference, type TestRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { Unsupported } from "../../runner/target.js";
import type { AdminClient } from "../../wire/admin-client.js";
import { codeName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { sleep } from "../expect.js";
import { fetchOnce, listOffset, readAll } from "../log/io.js";
import { utf8 } from "../log/records.js";

/** Retention check period of the variant broker, ms: short, so the case fits the quick profile. */
const CHECK_MS = 200;

/** Where the case runs: a variant with a short retention period, or (full profile) the target itself with the spec's one minute. */
interface Place {
  readonly admin: AdminClient;
  /** How long retention may take to act: a few check periods, or the SHOULD's one minute plus margin. */
  readonly dueMs: number;
  topic(tag: string, config: Record<string, string>): Promise<string>;
  connect(): Promise<WireSession>;
}

let names = 0;

async function place(ctx: CaseContext): Promise<Place> {
  if (ctx.target.capabilities.variants) {
    const variant = await ctx.variant({ retentionCheckIntervalMs: CHECK_MS });
    return {
      admin: variant.admin,
      dueMs: 10_000,
      topic: async (tag, config) => {
        await variant.createTopic(tag, 1, config);
        return tag;
      },
      connect: () => ctx.connectTo(variant.url),
    };
  }
  if (ctx.profile !== "full") throw new Unsupported("retention runs within one minute (PW-ADMIN-023): without a variant broker with a short retention period, this case needs --full");
  const admin = ctx.target.admin;
  if (admin === undefined) throw new Unsupported("retention needs the admin URL (--admin) to configure topics");
  return {
    admin,
    dueMs: 75_000,
    topic: (_tag, config) => ctx.topic(1, config),
    connect: () => ctx.connect(),
  };
}

/** A batch of two records of about 200 bytes each; with segment.bytes 1024 a segment holds two or three such batches. */
function batch(prefix: string, n: number, timestamp: bigint): TestRecord[] {
  return [0, 1].map((j) => ({ key: utf8(`${prefix}-${n}`), value: utf8(`${prefix}-${n}-${j}-${"r".repeat(180)}`), headers: [], typeId: 0n, timestamp }));
}

/** Produces the batches one at a time; resolves with their base offsets. */
async function produceAll(session: WireSession, topic: string, batches: readonly TestRecord[][]): Promise<bigint[]> {
  const bases: bigint[] = [];
  for (const records of batches) {
    const { message } = await session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, encodeBatch(records));
    bases.push(message.baseOffset);
  }
  return bases;
}

/** Polls ListOffsets EARLIEST until it is above 0; fails PW-ADMIN-023 after `dueMs`. */
async function awaitRetention(session: WireSession, topic: string, dueMs: number, what: string): Promise<bigint> {
  const deadline = performance.now() + dueMs;
  for (;;) {
    const earliest = await listOffset(session, topic, 0, OffsetSpec.EARLIEST);
    check("PW-LOG-020", earliest.errorCode === ErrorCode.UNSPECIFIED, `ListOffsets EARLIEST of ${topic} failed with ${codeName(earliest.errorCode)}`);
    if (earliest.offset > 0n) return earliest.offset;
    check("PW-ADMIN-023", performance.now() < deadline, `${what}: retention deleted nothing within ${dueMs / 1000} s (a broker SHOULD apply retention within one minute of it becoming due)`);
    await sleep(100);
  }
}

/**
 * What must hold once retention moved the log start to `earliest`: it is
 * the first offset of a batch (segments hold whole batches), a fetch below
 * it is OFFSET_OUT_OF_RANGE, and every record from it to the high
 * watermark reads back unchanged, the active segment's included.
 */
async function checkAfterRetention(session: WireSession, topic: string, earliest: bigint, bases: readonly bigint[], written: readonly TestRecord[], what: string): Promise<void> {
  check("PW-ADMIN-023", bases.includes(earliest), `${what}: the log start offset ${earliest} is not the first offset of a batch; retention must delete whole segments`);
  const below = await fetchOnce(session, topic, 0, earliest - 1n);
  checkEqual("PW-LOG-015", codeName(below.result.errorCode), codeName(ErrorCode.OFFSET_OUT_OF_RANGE), `${what}: fetch at ${earliest - 1n}, just below the log start offset ${earliest}`);
  const { records, highWatermark } = await readAll(session, topic, 0, earliest);
  checkEqual("PW-ADMIN-023", highWatermark, BigInt(written.length), `${what}: high watermark after retention`);
  check("PW-ADMIN-023", records.length === written.length - Number(earliest) && records[0]?.offset === earliest, `${what}: reading from the log start offset ${earliest} gave ${records.length} records from offset ${records[0]?.offset ?? "-"}; expected every record from ${earliest} to ${written.length - 1}`);
  records.forEach((r) => {
    const difference = recordDifference(r, written[Number(r.offset)] as TestRecord);
    check("PW-ADMIN-023", difference === undefined, `${what}: the record at ${r.offset} changed after retention: ${difference ?? ""}`);
  });
}

const bySize: ConformanceCase = {
  id: "admin/retention-bytes",
  title: "retention.bytes 1 deletes every closed segment from the start, whole, and never the active one: the log start moves to a batch boundary, fetches below it are OFFSET_OUT_OF_RANGE, the rest reads back unchanged, and it stays so",
  plane: "admin",
  clauses: ["PW-ADMIN-023", "PW-LOG-033", "PW-LOG-015", "PW-ADMIN-015"],
  features: [Feature.LOG],
  timeoutMs: 120_000,
  async run(ctx) {
    const where = await place(ctx);
    const topic = await where.topic(`retention-bytes-${++names}`, { "segment.bytes": "1024", "retention.bytes": "1" });
    const session = await where.connect();
    const now = BigInt(Date.now());
    const batches = Array.from({ length: 12 }, (_, n) => batch("s", n, now));
    const bases = await produceAll(session, topic, batches);
    const written = batches.flat();
    const earliest = await awaitRetention(session, topic, where.dueMs, "retention.bytes 1 over 12 batches in 1 KiB segments");
    // Let retention run several more times: whatever it does later must keep the active segment.
    await sleep(Math.min(where.dueMs / 10, 2000));
    const settled = await listOffset(session, topic, 0, OffsetSpec.EARLIEST);
    const last = bases[bases.length - 1] as bigint;
    check("PW-ADMIN-023", settled.offset <= last, `retention moved the log start to ${settled.offset}, past offset ${last} where the last batch (in the active segment) begins: it deleted the active segment`);
    check("PW-ADMIN-023", settled.offset >= earliest, `the log start offset went back from ${earliest} to ${settled.offset}`);
    await checkAfterRetention(session, topic, settled.offset, bases, written, "retention.bytes 1");
    const described = await where.admin.describeTopic(topic);
    const partition = described.partitions[0];
    checkEqual("PW-ADMIN-015", partition?.logStartOffset, settled.offset, "DescribeTopic log_start_offset after retention");
    ctx.note(`log start ${settled.offset} of ${written.length} records (batches at ${bases.join(", ")}); ${partition?.segments ?? "?"} segment(s) left`);
  },
};

const byTime: ConformanceCase = {
  id: "admin/retention-ms",
  title: "retention.ms deletes, from the start and whole, the closed segments whose newest record is older than it; segments holding a newer record and the active segment stay",
  plane: "admin",
  clauses: ["PW-ADMIN-023", "PW-LOG-033", "PW-LOG-015"],
  features: [Feature.LOG],
  timeoutMs: 120_000,
  async run(ctx) {
    const where = await place(ctx);
    const hour = 3_600_000n;
    const topic = await where.topic(`retention-ms-${++names}`, { "segment.bytes": "1024", "retention.ms": String(hour) });
    const session = await where.connect();
    const now = BigInt(Date.now());
    // Eight batches two hours old, then eight fresh ones: only segments of old batches alone are due.
    const batches = [
      ...Array.from({ length: 8 }, (_, n) => batch("old", n, now - 2n * hour)),
      ...Array.from({ length: 8 }, (_, n) => batch("new", n, now)),
    ];
    const bases = await produceAll(session, topic, batches);
    const written = batches.flat();
    const earliest = await awaitRetention(session, topic, where.dueMs, "retention.ms one hour over eight two-hour-old batches in 1 KiB segments");
    await sleep(Math.min(where.dueMs / 10, 2000));
    const settled = await listOffset(session, topic, 0, OffsetSpec.EARLIEST);
    const firstNew = bases[8] as bigint;
    check("PW-ADMIN-023", settled.offset <= firstNew, `retention.ms moved the log start to ${settled.offset}, past offset ${firstNew} of the first record newer than retention.ms`);
    check("PW-ADMIN-023", settled.offset >= earliest, `the log start offset went back from ${earliest} to ${settled.offset}`);
    await checkAfterRetention(session, topic, settled.offset, bases, written, "retention.ms");
    ctx.note(`log start ${settled.offset}; the first fresh record is at ${firstNew}`);
  },
};

/** Retention (PW-ADMIN-023). */
export const retentionCases: readonly ConformanceCase[] = [bySize, byTime];
