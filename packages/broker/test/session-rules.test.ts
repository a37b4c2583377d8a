import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Acks, FetchRequestSchema, ListOffsetsRequestSchema, ListOffsetsResponseSchema, MetadataRequestSchema, OffsetSpec, ProduceRequestSchema } from "@polywire/proto/log";
import { AuthResponseSchema, ErrorCode, ErrorSchema, Feature, FrameKind, PingSchema, PongSchema, WelcomeSchema } from "@polywire/proto/session";
import { frameKindTable, MIN_MAX_FRAME_SIZE } from "@polywire/core";
import { encodeBatch, encodeFrame, FLAG_CHECKSUM, type Frame } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { describeError, frameOf, helloFrame, RawClient } from "./helpers.js";

const text = new TextEncoder();
const ALL_FEATURES = [Feature.LOG, Feature.IDEMPOTENCE, Feature.GROUPS, Feature.PUBSUB, Feature.REQUEST_REPLY, Feature.FRAME_CHECKSUM, Feature.DRAIN_NOTICE, Feature.SLOW_CONSUMER_NOTICE];
const plain = (user: string, password: string): Uint8Array => text.encode(`\u0000${user}\u0000${password}`);
const metadata = (id: number): Uint8Array => frameOf(FrameKind.METADATA_REQUEST, id, MetadataRequestSchema, {});
const ping = (id: number, nonce = 1n, payload?: Uint8Array): Uint8Array => frameOf(FrameKind.PING, id, PingSchema, { nonce }, payload);
const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const produce = (id: number, topic: string, value: string): Uint8Array =>
  frameOf(FrameKind.PRODUCE_REQUEST, id, ProduceRequestSchema, { topic, partition: 0, acks: Acks.LEADER }, encodeBatch([{ value: text.encode(value) }]));

/** A Ping frame of exactly `size` bytes (its payload is padding; the broker ignores it). */
function pingOfSize(id: number, size: number): Uint8Array {
  const message = toBinary(PingSchema, create(PingSchema, { nonce: 9n }));
  return encodeFrame({ kind: FrameKind.PING, correlationId: id, message, payload: new Uint8Array(size - 16 - message.byteLength) });
}

let broker: Broker;
let url: string;
let checksummed: Broker;

beforeAll(async () => {
  broker = await Broker.start({
    listeners: ["tcp://127.0.0.1:0"],
    storage: { engine: "memory" },
    topics: [{ name: "t", partitions: 1 }, { name: "guarded", partitions: 1 }, { name: "idle", partitions: 1 }],
    limits: { maxInFlight: 2 },
    auth: {
      plain: { alice: "wonderland" },
      allowPlainWithoutTls: true,
      // Succeeds with a principal no Welcome of 64 KiB can carry.
      mechanisms: [{ name: "HUGE", start: () => ({ step: async () => ({ kind: "success" as const, principal: "p".repeat(70_000) }) }) }],
    },
  });
  url = broker.urls[0] as string;
  checksummed = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, checksumFrames: true });
});

afterAll(async () => {
  await broker.close();
  await checksummed.close();
});

/** A welcomed connection authenticated with PLAIN. */
async function ready(features = [Feature.LOG, Feature.IDEMPOTENCE, Feature.DRAIN_NOTICE]): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.send(helloFrame({ features, authMechanism: "PLAIN", authInitialResponse: plain("alice", "wonderland") }));
  const frame = await client.next();
  expect(frame.kind, describeError(frame)).toBe(FrameKind.WELCOME);
  return client;
}

async function expectError(client: RawClient, id: number, code: ErrorCode): Promise<void> {
  const { correlationId, error } = await client.nextError();
  expect([correlationId, ErrorCode[error.code]], error.message).toEqual([id, ErrorCode[code]]);
}

async function expectServing(client: RawClient, id: number): Promise<void> {
  client.send(ping(id, 77n));
  const pong = await client.next();
  expect([pong.kind, pong.correlationId]).toEqual([FrameKind.PONG, id]);
}

describe("frame kinds and features (§3.5)", () => {
  // Every kind a client may send that belongs to a feature, from the table of §3.5.
  const featured = [...frameKindTable.values()].filter((k) => k.sentBy !== "broker" && k.features.length > 0);

  it("PW-SESS-006: every kind of every feature is FEATURE_NOT_NEGOTIATED on a connection granted none; the connection stays", async () => {
    const client = await ready([]);
    let id = 3;
    for (const info of featured) {
      // The feature check comes before the message is decoded (PW-SESS-022): any bytes do.
      client.send(encodeFrame({ kind: info.kind, correlationId: id, message: Uint8Array.of(0xff) }));
      await expectError(client, id, ErrorCode.FEATURE_NOT_NEGOTIATED);
      id += 2;
    }
    await expectServing(client, id);
    client.close();
  });

  it("PW-SESS-021: a kind only the broker sends, and an AuthResponse after the handshake, are INVALID_ARGUMENT; the connection stays", async () => {
    const client = await ready(ALL_FEATURES);
    let id = 3;
    const kinds = [...[...frameKindTable.values()].filter((k) => k.sentBy === "broker").map((k) => k.kind), FrameKind.AUTH_RESPONSE];
    for (const kind of kinds) {
      client.send(encodeFrame({ kind, correlationId: id, message: new Uint8Array(0) }));
      await expectError(client, id, ErrorCode.INVALID_ARGUMENT);
      id += 2;
    }
    await expectServing(client, id);
    client.close();
  });
});

describe("pipelining behind Hello (§3.6)", () => {
  it("PW-SESS-023: requests in the same write as the Hello are served after Welcome, in order, under the features it grants", async () => {
    const client = await RawClient.connect(url);
    client.send(concat(helloFrame({ features: [Feature.DRAIN_NOTICE], authMechanism: "PLAIN", authInitialResponse: plain("alice", "wonderland") }), ping(3), metadata(5)));
    const kinds = [await client.next(), await client.next(), await client.next()].map((f) => [f.kind, f.correlationId]);
    expect(kinds).toEqual([[FrameKind.WELCOME, 1], [FrameKind.PONG, 3], [FrameKind.ERROR, 5]]);
    client.close();
  });

  it("PW-SESS-023: a request pipelined behind a Hello whose mechanism sends a challenge is held through the exchange and served after Welcome", async () => {
    const client = await RawClient.connect(url);
    client.send(concat(helloFrame({ authMechanism: "PLAIN" }), produce(3, "guarded", "pipelined")));
    const challenge = await client.next();
    expect(challenge.kind).toBe(FrameKind.AUTH_CHALLENGE);
    expect(await highWatermarkAuthed("guarded")).toBe(0n);
    client.send(frameOf(FrameKind.AUTH_RESPONSE, 1, AuthResponseSchema, { response: plain("alice", "wonderland") }));
    const welcome = await client.next();
    expect(welcome.kind, describeError(welcome)).toBe(FrameKind.WELCOME);
    const answer = await client.next();
    expect([answer.kind, answer.correlationId], describeError(answer)).toEqual([FrameKind.PRODUCE_RESPONSE, 3]);
    client.close();
  });

  it("PW-SESS-007: a request pipelined behind a Hello that fails authentication is never processed", async () => {
    const before = await highWatermarkAuthed("t");
    const client = await RawClient.connect(url);
    client.send(concat(helloFrame({ authMechanism: "PLAIN", authInitialResponse: plain("alice", "wrong") }), produce(3, "t", "never")));
    const { correlationId, error } = await client.nextError();
    expect([correlationId, error.code]).toEqual([1, ErrorCode.AUTHENTICATION_FAILED]);
    await client.expectClosed();
    expect(client.frames).toEqual([]);
    expect(await highWatermarkAuthed("t")).toBe(before);
  });

  it("PW-LIM-011: exactly 65 536 bytes pipelined behind a Hello are held and served; one frame more is HANDSHAKE_REQUIRED and close, nothing processed", async () => {
    const exact = await RawClient.connect(url);
    exact.send(concat(helloFrame({ authMechanism: "PLAIN" }), pingOfSize(3, 65_536)));
    expect((await exact.next()).kind).toBe(FrameKind.AUTH_CHALLENGE);
    exact.send(frameOf(FrameKind.AUTH_RESPONSE, 1, AuthResponseSchema, { response: plain("alice", "wonderland") }));
    expect((await exact.next()).kind).toBe(FrameKind.WELCOME);
    expect([(await exact.next()).kind]).toEqual([FrameKind.PONG]);
    exact.close();

    const over = await RawClient.connect(url);
    over.send(concat(helloFrame({ authMechanism: "PLAIN" }), pingOfSize(3, 65_536 - 16), ping(5), metadata(7)));
    const frames: Frame[] = [];
    for (;;) {
      const frame = await over.next();
      frames.push(frame);
      if (frame.kind === FrameKind.ERROR) break;
    }
    const last = frames[frames.length - 1] as Frame;
    expect(last.correlationId).toBe(5);
    expect(describeError(last)).toMatch(new RegExp(`^${ErrorCode.HANDSHAKE_REQUIRED} `));
    expect(frames.slice(0, -1).map((f) => f.kind)).toEqual([FrameKind.AUTH_CHALLENGE].slice(0, frames.length - 1));
    await over.expectClosed();
  });
});

async function highWatermarkAuthed(topic: string): Promise<bigint> {
  const client = await ready();
  client.send(frameOf(FrameKind.LIST_OFFSETS_REQUEST, 3, ListOffsetsRequestSchema, { partitions: [{ topic, partition: 0, spec: OffsetSpec.LATEST }] }));
  const frame = await client.next();
  client.close();
  expect(frame.kind, describeError(frame)).toBe(FrameKind.LIST_OFFSETS_RESPONSE);
  return fromBinary(ListOffsetsResponseSchema, frame.message).partitions[0]?.offset ?? -1n;
}

describe("max frame size minimum (PW-FRAME-020)", () => {
  it("PW-FRAME-020: Hello.max_frame_size 65 535 is INVALID_ARGUMENT on correlation id 1 with limit 65 536, then close; 65 536 is welcomed", async () => {
    const small = await RawClient.connect(url);
    small.send(helloFrame({ maxFrameSize: MIN_MAX_FRAME_SIZE - 1, authMechanism: "PLAIN", authInitialResponse: plain("alice", "wonderland") }));
    const { correlationId, error } = await small.nextError();
    expect([correlationId, error.code, error.limit]).toEqual([1, ErrorCode.INVALID_ARGUMENT, 65_536n]);
    await small.expectClosed();
    const exact = await RawClient.connect(url);
    exact.send(helloFrame({ maxFrameSize: MIN_MAX_FRAME_SIZE, authMechanism: "PLAIN", authInitialResponse: plain("alice", "wonderland") }));
    expect((await exact.next()).kind).toBe(FrameKind.WELCOME);
    exact.close();
  });

  it("PW-FRAME-020: a Welcome that would exceed 65 536 bytes is not sent: the handshake fails with INTERNAL on correlation id 1", async () => {
    const client = await RawClient.connect(url);
    client.send(helloFrame({ authMechanism: "HUGE", authInitialResponse: Uint8Array.of(1) }));
    const { correlationId, error } = await client.nextError();
    expect([correlationId, error.code]).toEqual([1, ErrorCode.INTERNAL]);
    await client.expectClosed();
  });

  it("PW-FRAME-020: a broker refuses to be configured below 64 KiB", async () => {
    await expect(Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, limits: { maxFrameSize: 65_535 } })).rejects.toThrow(/65536/);
  });
});

describe("correlation ids and Pings (§2, §3.7)", () => {
  const poll = (id: number, waitMs = 1500): Uint8Array =>
    frameOf(FrameKind.FETCH_REQUEST, id, FetchRequestSchema, { partitions: [{ topic: "idle", partition: 0, offset: 0n }], maxWaitMs: waitMs, minBytes: 1 });

  it("PW-FRAME-016: reusing the id of a request awaiting its answer is a connection-level INVALID_ARGUMENT naming the id, then close, with no answer on that id", async () => {
    const client = await ready();
    client.send(poll(7));
    await new Promise((r) => setTimeout(r, 100));
    client.send(metadata(7));
    const frame = await client.next();
    expect([frame.kind, frame.correlationId]).toEqual([FrameKind.ERROR, 0]);
    const error = fromBinary(ErrorSchema, frame.message);
    expect([error.code, error.requestCorrelationId]).toEqual([ErrorCode.INVALID_ARGUMENT, 7]);
    await client.expectClosed();
    expect(client.frames).toEqual([]);
  });

  it("PW-SESS-024: a Ping with an even correlation id is INVALID_ARGUMENT; the connection stays", async () => {
    const client = await ready();
    client.send(ping(4));
    await expectError(client, 4, ErrorCode.INVALID_ARGUMENT);
    await expectServing(client, 5);
    client.close();
  });

  it("PW-SESS-025: a Ping is answered at once while max_in_flight requests await their answers", async () => {
    const client = await ready();
    client.send(concat(poll(3), poll(5), ping(7, 42n), poll(9)));
    const first = await client.next();
    const second = await client.next();
    const byId = new Map([first, second].map((f) => [f.correlationId, f]));
    expect(byId.get(7)?.kind).toBe(FrameKind.PONG);
    expect(fromBinary(PongSchema, (byId.get(7) as Frame).message).nonce).toBe(42n);
    expect(ErrorCode[fromBinary(ErrorSchema, (byId.get(9) as Frame).message).code]).toBe("TOO_MANY_IN_FLIGHT");
    const polls = [await client.next(), await client.next()].map((f) => [f.kind, f.correlationId]).sort();
    expect(polls).toEqual([[FrameKind.FETCH_RESPONSE, 3], [FrameKind.FETCH_RESPONSE, 5]]);
    client.close();
  });
});

describe("checksums (PW-SESS-026, PW-FRAME-022)", () => {
  const checksummedUrl = (): string => checksummed.urls[0] as string;
  const flagged = (f: Frame): boolean => (f.flags & FLAG_CHECKSUM) !== 0;

  it("PW-SESS-026: granted, every broker frame from Welcome on carries CHECKSUM", async () => {
    const client = await RawClient.connect(checksummedUrl());
    client.send(concat(helloFrame({ features: [Feature.LOG, Feature.FRAME_CHECKSUM] }), ping(3), metadata(5)));
    const frames = [await client.next(), await client.next(), await client.next()];
    expect(fromBinary(WelcomeSchema, (frames[0] as Frame).message).features).toContain(Feature.FRAME_CHECKSUM);
    expect(frames.map((f) => [f.kind, flagged(f)])).toEqual([[FrameKind.WELCOME, true], [FrameKind.PONG, true], [FrameKind.METADATA_RESPONSE, true]]);
    client.close();
  });

  it("PW-SESS-026: not asked for, no broker frame carries CHECKSUM, though the client's own checksummed frames are accepted (PW-FRAME-022)", async () => {
    const client = await RawClient.connect(checksummedUrl());
    const hello = encodeFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloFrame({ features: [Feature.LOG] }).subarray(16), checksum: true });
    client.send(concat(hello, encodeFrame({ kind: FrameKind.PING, correlationId: 3, message: toBinary(PingSchema, create(PingSchema, { nonce: 1n })), checksum: true })));
    const frames = [await client.next(), await client.next()];
    expect(fromBinary(WelcomeSchema, (frames[0] as Frame).message).features).toEqual([Feature.LOG]);
    expect(frames.map((f) => [f.kind, flagged(f)])).toEqual([[FrameKind.WELCOME, false], [FrameKind.PONG, false]]);
    client.close();
  });

  it("PW-SESS-026: a broker that does not checksum its frames does not grant FEATURE_FRAME_CHECKSUM", async () => {
    const client = await RawClient.connect(url);
    client.send(concat(helloFrame({ features: [Feature.LOG, Feature.FRAME_CHECKSUM], authMechanism: "PLAIN", authInitialResponse: plain("alice", "wonderland") }), ping(3)));
    const welcome = await client.next();
    expect(fromBinary(WelcomeSchema, welcome.message).features).toEqual([Feature.LOG]);
    const pong = await client.next();
    expect([flagged(welcome), flagged(pong)]).toEqual([false, false]);
    client.close();
    const { client: other, welcome: unasked } = await RawClient.ready(checksummedUrl(), { features: [Feature.LOG] });
    expect(unasked.features).not.toContain(Feature.FRAME_CHECKSUM);
    other.close();
  });
});
