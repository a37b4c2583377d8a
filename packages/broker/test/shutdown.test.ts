import { Acks, FetchRequestSchema, ProduceRequestSchema } from "@polywire/proto/log";
import { CloseSchema, ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { fromBinary } from "@bufbuild/protobuf";
import { Connection } from "@polywire/runtime/connection";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { frameOf, RawClient } from "./helpers.js";

describe("graceful shutdown (PW-SESS-015)", () => {
  it("PW-SESS-015: Drain, refuse new work with SHUTTING_DOWN, finish in-flight, close no earlier than the deadline", async () => {
    await init();
    const broker = await Broker.start({
      listeners: ["tcp://127.0.0.1:0"],
      storage: { engine: "memory" },
      topics: [{ name: "t", partitions: 1 }],
      drainDeadlineMs: 1_500,
      http: { port: 0 },
    });
    const url = broker.urls[0] as string;
    const { client } = await RawClient.ready(url, { features: [Feature.LOG, Feature.DRAIN_NOTICE] });
    const { client: legacy } = await RawClient.ready(url, { features: [Feature.LOG] });
    // A long poll in flight on each connection when shutdown starts.
    const poll = (id: number): Uint8Array => frameOf(FrameKind.FETCH_REQUEST, id, FetchRequestSchema, { partitions: [{ topic: "t", partition: 0, offset: 0n }], maxWaitMs: 10_000 });
    client.send(poll(3));
    legacy.send(poll(3));
    await new Promise((r) => setTimeout(r, 50));

    const started = Date.now();
    const closing = broker.close();
    expect(broker.state).toBe("draining");
    expect((await fetch(`${broker.httpUrl}/readyz`)).status).toBe(503);

    const drain = await client.next();
    expect([drain.kind, drain.correlationId]).toEqual([FrameKind.DRAIN, 0]);
    client.send(frameOf(FrameKind.PRODUCE_REQUEST, 5, ProduceRequestSchema, { topic: "t", partition: 0, acks: Acks.LEADER }, encodeBatch([{ value: new Uint8Array(1) }])));
    const refused = await client.nextError();
    expect([refused.correlationId, refused.error.code, refused.error.retriable]).toEqual([5, ErrorCode.SHUTTING_DOWN, true]);

    // The connection without FEATURE_DRAIN_NOTICE gets its in-flight answer, then Close, without waiting for the deadline.
    const legacyAnswer = await legacy.next();
    expect([legacyAnswer.kind, legacyAnswer.correlationId]).toEqual([FrameKind.FETCH_RESPONSE, 3]);
    const legacyClose = await legacy.next();
    expect([legacyClose.kind, fromBinary(CloseSchema, legacyClose.message).code]).toEqual([FrameKind.CLOSE, ErrorCode.SHUTTING_DOWN]);
    await legacy.expectClosed();
    expect(Date.now() - started).toBeLessThan(1_500);

    // The drained connection keeps its long poll until the deadline, then gets the answer, Close, and is closed.
    const answer = await client.next();
    expect([answer.kind, answer.correlationId]).toEqual([FrameKind.FETCH_RESPONSE, 3]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_450);
    expect((await client.next()).kind).toBe(FrameKind.CLOSE);
    await client.expectClosed();
    await closing;
    expect(broker.state).toBe("closed");
    await expect(RawClient.connect(url)).rejects.toThrow();
  });

  it("PW-SESS-015: a client that leaves after Drain lets the broker finish before the deadline; the client sees drain then close", async () => {
    const broker = await Broker.start({ listeners: ["memory://shutdown-client"], storage: { engine: "memory" }, drainDeadlineMs: 10_000 });
    const conn = await Connection.connect("memory://shutdown-client");
    const drained = new Promise<void>((resolve) => conn.on("drain", () => {
      void conn.close().then(resolve);
    }));
    const started = Date.now();
    await broker.close();
    await drained;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(conn.state).toBe("closed");
  });

  it("PW-LOG-006: acknowledged ACKS_ALL data is readable after a graceful close and reopen of disk storage", async () => {
    const { tempDir } = await import("./helpers.js");
    const dir = tempDir("reopen");
    try {
      const options = { listeners: ["memory://reopen"], storage: { engine: "disk" as const, dir: dir.path }, topics: [{ name: "t", partitions: 1 }] };
      let broker = await Broker.start(options);
      let conn = await Connection.connect("memory://reopen");
      const ack = await conn.call(FrameKind.PRODUCE_REQUEST, { topic: "t", partition: 0, acks: Acks.ALL }, encodeBatch([{ value: new TextEncoder().encode("kept") }]));
      await conn.close();
      await broker.close();
      broker = await Broker.start(options);
      conn = await Connection.connect("memory://reopen");
      const fetched = await conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic: "t", partition: 0, offset: ack.message.baseOffset }] });
      expect(fetched.message.partitions[0]?.highWatermark).toBe(1n);
      await conn.close();
      await broker.close();
    } finally {
      dir.remove();
    }
  });
});
