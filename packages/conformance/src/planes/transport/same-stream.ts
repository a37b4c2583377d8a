import { Acks, OffsetSpec } from "@polywire/proto/log";
import { Feature, FrameKind } from "@polywire/proto/session";
import { encodeBatch, type TestRecord } from "../../batch/batch.js";
import { ClauseViolation, same, show } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import type { ListenerScheme } from "../../runner/target.js";
import { BrokerError, codeName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { readAll } from "../log/io.js";
import { edgeRecords, numbered, utf8 } from "../log/records.js";
import { testCerts } from "./certs.js";

/** Fixed timestamps, so every transport writes byte-identical batches. */
const T0 = 1_700_000_000_000n;

/** The batches of the sequence: several small ones, every record field, and one of about 300 KiB that spans many TCP segments. */
function batches(): TestRecord[][] {
  return [
    numbered("a", 3, T0),
    edgeRecords(T0 + 100n),
    [{ key: utf8("big"), value: new Uint8Array(300 * 1024).map((_, i) => (i * 31) & 0xff), headers: [], typeId: 7n, timestamp: T0 + 200n }],
    numbered("b", 5, T0 + 300n),
    numbered("c", 1, T0 + 400n),
  ];
}

/**
 * Runs the request sequence on an empty one-partition topic and returns
 * everything the broker answered except names, which differ by transport.
 */
async function sequence(session: WireSession, topic: string): Promise<unknown> {
  const welcome = session.welcome;
  // Pipelined: every produce is on the wire before the first answer.
  const produced = await Promise.all(batches().map((records, i) =>
    session.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: i % 2 === 0 ? Acks.ALL : Acks.LEADER }, encodeBatch(records))));
  const { records, highWatermark } = await readAll(session, topic, 0);
  const { message: offsets } = await session.call(FrameKind.LIST_OFFSETS_REQUEST, {
    partitions: [
      { topic, partition: 0, spec: OffsetSpec.EARLIEST, timestampMs: 0n },
      { topic, partition: 0, spec: OffsetSpec.LATEST, timestampMs: 0n },
      { topic, partition: 0, spec: OffsetSpec.TIMESTAMP, timestampMs: T0 + 250n },
    ],
  });
  const { message: metadata } = await session.call(FrameKind.METADATA_REQUEST, { topics: [topic] });
  let unknown = "no error";
  try {
    await session.call(FrameKind.PRODUCE_REQUEST, { topic: `${topic}-missing`, partition: 0, acks: Acks.LEADER }, encodeBatch(numbered("x", 1, T0)));
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error;
    unknown = codeName(error.code);
  }
  const { message: pong } = await session.call(FrameKind.PING, { nonce: 4242n });
  return {
    welcome: { version: welcome.version, features: [...welcome.features].sort(), limits: welcome.limits },
    baseOffsets: produced.map((p) => p.message.baseOffset),
    highWatermark,
    records,
    offsets: offsets.partitions.map((p) => ({ errorCode: p.errorCode, offset: p.offset, timestampMs: p.timestampMs })),
    partitions: metadata.topics.map((t) => ({ errorCode: t.errorCode, partitions: t.partitions.length })),
    unknownTopic: unknown,
    pong: pong.nonce,
  };
}

/** The first key whose values differ, for a readable failure. */
function firstDifference(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const key = Object.keys(a).find((k) => !same(a[k], b[k])) ?? "?";
  return `${key}: ${show(a[key]).slice(0, 300)} against ${show(b[key]).slice(0, 300)}`;
}

async function sessions(ctx: CaseContext): Promise<Array<{ scheme: string; open(): Promise<WireSession> }>> {
  const certs = await testCerts();
  // memory:// and worker:// reach only a broker in this process, which a variant is.
  const schemes: ListenerScheme[] = ["tcp", "tls", "unix", "ws", "wss", "memory", "worker"];
  const variant = await ctx.variant({ listeners: schemes, tls: { cert: certs.serverCert, key: certs.serverKey } });
  for (const scheme of schemes) await variant.createTopic(`same-${scheme}`, 1);
  return schemes.map((scheme) => ({
    scheme,
    open: () => ctx.connectTo(variant.urls[scheme] as string, scheme === "tls" || scheme === "wss" ? { tls: { ca: certs.ca } } : {}),
  }));
}

const sameStream: ConformanceCase = {
  id: "session/same-stream-every-transport",
  title: "The same pipelined produce, fetch, list-offsets, metadata, error and ping sequence gives identical answers over tcp, tls, unix, ws, wss, memory and worker",
  plane: "session",
  clauses: ["PW-TRANS-002", "PW-TRANS-001", "PW-TRANS-013"],
  features: [Feature.LOG],
  needs: ["variants"],
  timeoutMs: 60_000,
  async run(ctx) {
    const transports = await sessions(ctx);
    let reference: { scheme: string; result: Record<string, unknown> } | undefined;
    for (const { scheme, open } of transports) {
      const session = await open();
      const result = await sequence(session, `same-${scheme}`) as Record<string, unknown>;
      session.destroy();
      if (reference === undefined) {
        reference = { scheme, result };
        continue;
      }
      if (!same(result, reference.result)) {
        throw new ClauseViolation("PW-TRANS-002", `the same sequence over ${scheme} and over ${reference.scheme} got different answers; ${firstDifference(result, reference.result)}`);
      }
    }
  },
};

/** The same stream over every transport (PW-TRANS-002). */
export const sameStreamCases: readonly ConformanceCase[] = [sameStream];
