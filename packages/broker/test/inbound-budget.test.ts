import { Acks, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, FrameKind, PingSchema } from "@polywire/proto/session";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { delegateLog, interceptPartitions } from "../../conformance/src/embedded/intercept.js";
import { Broker } from "../src/index.js";
import { openStorage } from "../src/storage/engine-config.js";
import { frameOf, RawClient } from "./helpers.js";

const BUDGET = 300_000;

// A Ping of `size` bytes (its payload pads it; a Ping's payload is not read).
function ping(id: number, size: number): Uint8Array {
  const head = frameOf(FrameKind.PING, id, PingSchema, { nonce: BigInt(id) });
  return frameOf(FrameKind.PING, id, PingSchema, { nonce: BigInt(id) }, new Uint8Array(size - head.length));
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 300));
}

describe("the inbound budget (PW-LIM-006)", () => {
  let broker: Broker;
  let url: string;

  beforeAll(async () => {
    broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, limits: { maxBufferedInboundBytes: BUDGET } });
    url = broker.urls[0] as string;
  });

  afterAll(() => broker.close());

  it("PW-LIM-006: over the budget the connection holding the most unread bytes is closed with RESOURCE_EXHAUSTED (retriable, limit set), whichever sent the last byte; the others are served", async () => {
    const [a, b, c, d, e] = await Promise.all([0, 1, 2, 3, 4].map(async () => (await RawClient.ready(url)).client));
    const frames = { a: ping(3, 160_000), b: ping(3, 100_000), c: ping(3, 40_000), d: ping(3, 20_000), e: ping(3, 150_000) };
    a!.send(frames.a.subarray(0, 150_000));
    b!.send(frames.b.subarray(0, 99_000));
    c!.send(frames.c.subarray(0, 39_000));
    await settle();
    // 288,000 bytes held: within the budget.
    expect([a, b, c].map((x) => x!.isClosed)).toEqual([false, false, false]);
    d!.send(frames.d.subarray(0, 19_000));
    const first = await a!.nextError();
    expect([first.correlationId, first.error.code, first.error.retriable, first.error.limit]).toEqual([0, ErrorCode.RESOURCE_EXHAUSTED, true, BigInt(BUDGET)]);
    await a!.expectClosed();
    // 157,000 held; E brings it to 306,000 and is itself the largest.
    e!.send(frames.e.subarray(0, 149_000));
    expect((await e!.nextError()).error.code).toBe(ErrorCode.RESOURCE_EXHAUSTED);
    await e!.expectClosed();
    for (const [client, frame, sent] of [[b, frames.b, 99_000], [c, frames.c, 39_000], [d, frames.d, 19_000]] as const) {
      client!.send(frame.subarray(sent));
      expect((await client!.next()).kind).toBe(FrameKind.PONG);
      client!.close();
    }
  });

  it("PW-FRAME-017/PW-FRAME-006: before Welcome a frame above 64 KiB is FRAME_TOO_LARGE naming the real limit, with limit set", async () => {
    const client = await RawClient.connect(url);
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(0, 16 * 1024 * 1024 - 4);
    header[4] = 16;
    client.send(header);
    const { correlationId, error } = await client.nextError();
    expect([correlationId, error.code, error.limit]).toEqual([0, ErrorCode.FRAME_TOO_LARGE, 65_536n]);
    expect(error.message).toBe("frame of 16777216 bytes exceeds the maximum frame size of 65536 (PW-FRAME-006)");
    await client.expectClosed();
  });
});

describe("the inbound budget counts requests being handled (PW-LIM-006)", () => {
  let broker: Broker;
  let url: string;
  let open: () => void = () => {};

  beforeAll(async () => {
    await init();
    // Appends wait until `open` is called: produce requests stay in flight, their batches held.
    const storage = await openStorage({ engine: "memory" });
    await storage.createTopic("held", { partitions: 1 });
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    interceptPartitions(storage, (log) => delegateLog(log, { append: async (batch, header, options) => {
      await gate;
      return log.append(batch, header, options);
    } }));
    broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage, limits: { maxBufferedInboundBytes: BUDGET } });
    url = broker.urls[0] as string;
  });

  afterAll(async () => {
    open();
    await broker.close();
  });

  const produce = (id: number, size: number): Uint8Array =>
    frameOf(FrameKind.PRODUCE_REQUEST, id, ProduceRequestSchema, { topic: "held", partition: 0, acks: Acks.LEADER }, encodeBatch([{ value: new Uint8Array(size) }]));

  it("PW-LIM-006: a request's frame counts until it is answered; over the budget the connection with the most in flight gets RESOURCE_EXHAUSTED, the others are answered", async () => {
    const { client: a } = await RawClient.ready(url);
    const { client: b } = await RawClient.ready(url);
    // Three produce requests of about 90,000 bytes each, all in flight: within the budget.
    for (const id of [3, 5, 7]) a.send(produce(id, 90_000));
    await settle();
    expect(a.isClosed).toBe(false);
    // 40,000 more from B: the total passes the budget, and A holds the most.
    b.send(produce(3, 40_000));
    const { correlationId, error } = await a.nextError();
    expect([correlationId, error.code, error.retriable, error.limit]).toEqual([0, ErrorCode.RESOURCE_EXHAUSTED, true, BigInt(BUDGET)]);
    await a.expectClosed();
    open();
    const answer = await b.next();
    expect([answer.kind, answer.correlationId]).toEqual([FrameKind.PRODUCE_RESPONSE, 3]);
    b.close();
  });
});
