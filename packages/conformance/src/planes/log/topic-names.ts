import { Code, ConnectError } from "@connectrpc/connect";
import { Acks, OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch } from "../../batch/batch.js";
import { check, checkEqual, ClauseViolation } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { codeName } from "../../wire/messages.js";
import { expectBrokerError, expectServing } from "../expect.js";
import { numbered } from "./records.js";

/** Names that break the grammar of PW-ADMIN-010, one per way to break it. */
const MALFORMED = ["", ".", "..", "a b", "slash/name", "tab\tname", "é", "x".repeat(250)];

const show = (name: string): string => JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}…(${name.length})` : name);

const malformedNames: ConformanceCase = {
  id: "log/malformed-topic-names",
  title: "A topic name that breaks the grammar is INVALID_TOPIC on every data-plane request (produce, fetch, list offsets, metadata) and invalid_argument naming ERROR_CODE_INVALID_TOPIC on the admin plane; a well-formed missing name stays UNKNOWN_TOPIC",
  plane: "log",
  clauses: ["PW-LOG-040", "PW-ERR-006", "PW-LOG-003", "PW-ADMIN-010"],
  features: [Feature.LOG],
  async run(ctx) {
    const session = await ctx.connect();
    const admin = ctx.target.admin;
    const missing = `cf-missing-${ctx.seed}-${process.pid}`;
    for (const [names, code] of [[MALFORMED, ErrorCode.INVALID_TOPIC], [[missing, `__${missing}`], ErrorCode.UNKNOWN_TOPIC]] as const) {
      for (const topic of names) {
        const what = `topic ${show(topic)}`;
        await expectBrokerError("PW-LOG-040", session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, encodeBatch(numbered("n", 1))), code, `produce to ${what}`);
        const { message: fetched } = await session.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic, partition: 0, offset: 0n }] });
        checkEqual("PW-LOG-040", codeName(fetched.partitions[0]?.errorCode ?? 0), codeName(code), `FetchPartitionResult of ${what}`);
        const { message: listed } = await session.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic, partition: 0, spec: OffsetSpec.EARLIEST }] });
        checkEqual("PW-LOG-040", codeName(listed.partitions[0]?.errorCode ?? 0), codeName(code), `ListOffsetsResult of ${what}`);
        const { message: described } = await session.call(FrameKind.METADATA_REQUEST, { topics: [topic] });
        checkEqual("PW-LOG-040", codeName(described.topics[0]?.errorCode ?? 0), codeName(code), `TopicMetadata of ${what}`);
        if (admin === undefined) continue;
        // PW-ERR-006: the admin plane reports the same code for the same name.
        const [connectCode, errorName] = code === ErrorCode.INVALID_TOPIC ? [Code.InvalidArgument, "ERROR_CODE_INVALID_TOPIC"] : [Code.NotFound, "ERROR_CODE_UNKNOWN_TOPIC"];
        try {
          await admin.describeTopic(topic);
          throw new ClauseViolation("PW-ERR-006", `DescribeTopic of ${what} succeeded`);
        } catch (error) {
          if (error instanceof ClauseViolation) throw error;
          const e = ConnectError.from(error);
          check("PW-ERR-006", e.code === connectCode && e.rawMessage.includes(errorName), `DescribeTopic of ${what}: expected ${Code[connectCode]} naming ${errorName} as the data plane's ${codeName(code)}, got ${Code[e.code]}: ${e.rawMessage}`);
        }
      }
    }
    if (admin === undefined) ctx.note("no admin URL: the admin half of PW-ERR-006 was not checked");
    await expectServing(session, "PW-LOG-040", "after requests naming malformed topics");
  },
};

/** A value of a mebibyte: far longer than any error message may repeat (PW-ERR-007). */
const LONG = 1 << 20;
const QUOTE_BOUND = 256;

/** The longest run of `filler` in `message`, which PW-ERR-007 bounds at 256 bytes. */
function longestRun(message: string, filler: string): number {
  let longest = 0;
  let run = 0;
  for (const c of message) {
    run = c === filler ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

function expectCut(message: string, filler: string, what: string): void {
  const run = longestRun(message, filler);
  check("PW-ERR-007", run <= QUOTE_BOUND, `${what}: the error message repeats ${run} bytes of the ${LONG}-byte value (at most ${QUOTE_BOUND} allowed): ${message.slice(0, 120)}…`);
}

const longNames: ConformanceCase = {
  id: "log/long-input-quoted-cut",
  title: "An error answering a value of a mebibyte repeats at most 256 bytes of it: INVALID_TOPIC for a produce to a topic so named, and the admin plane's answers to CreateTopic and DescribeTopic with such a name and to a config key so long",
  plane: "log",
  clauses: ["PW-ERR-007", "PW-LOG-040"],
  features: [Feature.LOG],
  async run(ctx) {
    const session = await ctx.connect();
    const produced = await expectBrokerError("PW-LOG-040", session.call(FrameKind.PRODUCE_REQUEST, { topic: "q".repeat(LONG), partition: 0, acks: Acks.LEADER }, encodeBatch(numbered("n", 1))), ErrorCode.INVALID_TOPIC, "produce to a topic named by a mebibyte");
    expectCut(produced.message, "q", "INVALID_TOPIC for a produce");
    await expectServing(session, "PW-ERR-007", "after an error answering a mebibyte-long topic name");
    const admin = ctx.target.admin;
    if (admin === undefined) {
      ctx.note("no admin URL: the admin plane's messages were not checked");
      return;
    }
    const topic = await ctx.topic(1);
    const calls: Array<[string, () => Promise<unknown>, string]> = [
      ["CreateTopic with a mebibyte-long name", () => admin.createTopic("n".repeat(LONG)), "n"],
      ["DescribeTopic of a mebibyte-long name", () => admin.describeTopic("d".repeat(LONG)), "d"],
      ["AlterTopicConfig setting a mebibyte-long key", () => admin.alterTopic(topic, { set: { ["k".repeat(LONG)]: "1" } }), "k"],
    ];
    for (const [what, call, filler] of calls) {
      try {
        await call();
      } catch (error) {
        expectCut(ConnectError.from(error).rawMessage, filler, what);
        continue;
      }
      throw new ClauseViolation("PW-ADMIN-010", `${what} succeeded`);
    }
  },
};

/** Topic names on the data plane (§7.6). */
export const topicNameCases: readonly ConformanceCase[] = [malformedNames, longNames];
