// The broker gives one answer per fact on both planes: the admin URL it
// advertises (Welcome, Metadata, DescribeCluster) and the code for a topic
// name (INVALID_TOPIC when malformed, UNKNOWN_TOPIC when missing).
import { Code, ConnectError } from "@connectrpc/connect";
import { Acks, OffsetSpec } from "@polywire/proto/log";
import { ErrorCode, FrameKind } from "@polywire/proto/session";
import { PolywireError } from "@polywire/runtime";
import { Connection } from "@polywire/runtime/connection";
import { createAdminClient } from "@polywire/runtime/admin";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";

describe("the advertised admin URL (PW-ADMIN-060, PW-ADMIN-061)", () => {
  it("PW-ADMIN-060/PW-ADMIN-061: Welcome, every BrokerInfo of Metadata and DescribeCluster name the same admin listener", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    await using conn = await Connection.connect(broker.urls[0] as string);
    expect(broker.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(conn.welcome.adminUrl).toBe(broker.httpUrl);
    const { message } = await conn.call(FrameKind.METADATA_REQUEST, { topics: [] });
    expect(message.brokers.map((b) => [b.brokerId, b.adminUrl])).toEqual([[conn.welcome.brokerId, broker.httpUrl]]);
    await using admin = createAdminClient(conn.welcome.adminUrl);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => [b.brokerId, b.adminUrl])).toEqual([[conn.welcome.brokerId, broker.httpUrl]]);
  });

  it("PW-ADMIN-060: without an admin listener, admin_url is empty everywhere", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" } });
    await using conn = await Connection.connect(broker.urls[0] as string);
    expect(conn.welcome.adminUrl).toBe("");
    const { message } = await conn.call(FrameKind.METADATA_REQUEST, { topics: [] });
    expect(message.brokers.map((b) => b.adminUrl)).toEqual([""]);
  });
});

describe("topic names (PW-LOG-040, PW-ERR-006)", () => {
  const malformed = ["", ".", "..", "a b", "slash/name", "é", "x".repeat(250)];

  it("PW-LOG-040/PW-ERR-006: a malformed name is INVALID_TOPIC on every data-plane request and invalid_argument naming it on the admin plane; a missing well-formed one stays UNKNOWN_TOPIC / not_found", async () => {
    await init();
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
    await using conn = await Connection.connect(broker.urls[0] as string);
    await using admin = createAdminClient(broker.httpUrl as string);
    const batch = encodeBatch([{ value: new TextEncoder().encode("x") }]);
    const produceCode = async (topic: string): Promise<string> => {
      try {
        await conn.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, batch);
      } catch (error) {
        return (error as PolywireError).code;
      }
      return "accepted";
    };
    const adminCode = async (call: Promise<unknown>): Promise<string> => {
      try {
        await call;
      } catch (error) {
        const e = ConnectError.from(error);
        return `${Code[e.code]} ${/ERROR_CODE_[A-Z_]+/.exec(e.rawMessage)?.[0] ?? "(no ErrorCode)"}`;
      }
      return "succeeded";
    };
    for (const [names, code, connect] of [[malformed, "INVALID_TOPIC", "InvalidArgument ERROR_CODE_INVALID_TOPIC"], [["missing", "__missing"], "UNKNOWN_TOPIC", "NotFound ERROR_CODE_UNKNOWN_TOPIC"]] as const) {
      for (const topic of names) {
        const what = JSON.stringify(topic.slice(0, 12));
        expect(await produceCode(topic), `produce to ${what}`).toBe(code);
        const { message: fetched } = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic, partition: 0, offset: 0n }] });
        expect(ErrorCode[fetched.partitions[0]?.errorCode ?? 0], `fetch of ${what}`).toBe(code);
        const { message: listed } = await conn.call(FrameKind.LIST_OFFSETS_REQUEST, { partitions: [{ topic, partition: 0, spec: OffsetSpec.LATEST }] });
        expect(ErrorCode[listed.partitions[0]?.errorCode ?? 0], `list offsets of ${what}`).toBe(code);
        const { message: described } = await conn.call(FrameKind.METADATA_REQUEST, { topics: [topic] });
        expect(ErrorCode[described.topics[0]?.errorCode ?? 0], `metadata of ${what}`).toBe(code);
        expect(await adminCode(admin.describeTopic(topic)), `DescribeTopic ${what}`).toBe(connect);
        expect(await adminCode(admin.alterTopic(topic, { set: { "retention.ms": "1000" } })), `AlterTopicConfig ${what}`).toBe(connect);
        expect(await adminCode(admin.deleteTopic(topic)), `DeleteTopic ${what}`).toBe(connect);
      }
    }
  });
});
