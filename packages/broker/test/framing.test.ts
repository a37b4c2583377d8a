import { create, toBinary } from "@bufbuild/protobuf";
import { MetadataRequestSchema, MetadataResponseSchema, FetchRequestSchema } from "@polywire/proto/log";
import { ErrorCode, FrameKind, PingSchema, PongSchema } from "@polywire/proto/session";
import { crc32c, encodeFrame } from "@polywire/wasm-codec";
import { fromBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { frameOf, rawFrame, RawClient } from "./helpers.js";

let broker: Broker;
let url: string;

beforeAll(async () => {
  broker = await Broker.start({
    listeners: ["tcp://127.0.0.1:0"],
    storage: { engine: "memory" },
    topics: [{ name: "t", partitions: 1 }],
    limits: { maxFrameSize: 64 * 1024, maxInFlight: 2 },
  });
  url = broker.urls[0] as string;
});

afterAll(async () => {
  await broker.close();
});

const metadata = (id: number): Uint8Array => frameOf(FrameKind.METADATA_REQUEST, id, MetadataRequestSchema, {});

/** After each connection-fatal test: another connection is still served. */
async function othersStillServed(): Promise<void> {
  const { client } = await RawClient.ready(url);
  client.send(metadata(3));
  const frame = await client.next();
  expect(frame.kind).toBe(FrameKind.METADATA_RESPONSE);
  expect(frame.correlationId).toBe(3);
  client.close();
}

/** Sends `bytes` on a ready connection; expects a connection-level Error with `code`, then close. */
async function expectFatal(bytes: Uint8Array, code: ErrorCode): Promise<void> {
  const { client } = await RawClient.ready(url);
  const bystander = (await RawClient.ready(url)).client;
  client.send(bytes);
  const { correlationId, error } = await client.nextError();
  expect(error.code).toBe(code);
  expect(correlationId).toBe(0);
  await client.expectClosed();
  bystander.send(metadata(5));
  expect((await bystander.next()).correlationId).toBe(5);
  bystander.close();
  await othersStillServed();
}

describe("framing (§2)", () => {
  it("PW-FRAME-002: a header_size below 16 is MALFORMED_FRAME, then close; others unaffected (PW-FRAME-013)", async () => {
    await expectFatal(rawFrame({ headerSize: 12, kind: FrameKind.PING, correlationId: 3, length: 12 }), ErrorCode.MALFORMED_FRAME);
  });

  it("PW-FRAME-002: a header extension is skipped", async () => {
    const { client } = await RawClient.ready(url);
    const message = toBinary(MetadataRequestSchema, create(MetadataRequestSchema, {}));
    client.send(rawFrame({ kind: FrameKind.METADATA_REQUEST, correlationId: 7, message, extension: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }));
    const frame = await client.next();
    expect(frame.kind).toBe(FrameKind.METADATA_RESPONSE);
    expect(frame.correlationId).toBe(7);
    client.close();
  });

  it("PW-FRAME-003: a reserved flag bit is MALFORMED_FRAME, then close", async () => {
    await expectFatal(rawFrame({ flags: 0x02, kind: FrameKind.PING, correlationId: 3, message: toBinary(PingSchema, create(PingSchema, { nonce: 1n })) }), ErrorCode.MALFORMED_FRAME);
  });

  it("PW-FRAME-004: a checksummed frame is verified; a mismatch is CHECKSUM_MISMATCH, then close", async () => {
    const { client } = await RawClient.ready(url);
    const good = encodeFrame({ kind: FrameKind.PING, correlationId: 9, message: toBinary(PingSchema, create(PingSchema, { nonce: 42n })), checksum: true });
    client.send(good);
    const pong = await client.next();
    expect(pong.kind).toBe(FrameKind.PONG);
    expect(fromBinary(PongSchema, pong.message).nonce).toBe(42n);
    client.close();
    const bad = good.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    expect(crc32c(bad.subarray(0, bad.length - 4))).not.toBe(new DataView(bad.buffer).getUint32(bad.length - 4));
    await expectFatal(bad, ErrorCode.CHECKSUM_MISMATCH);
  });

  it("PW-FRAME-005: a length below header_size - 4 is MALFORMED_FRAME, then close", async () => {
    await expectFatal(rawFrame({ kind: FrameKind.PING, correlationId: 3, length: 8 }), ErrorCode.MALFORMED_FRAME);
  });

  it("PW-FRAME-005: a message_length beyond the frame is MALFORMED_FRAME, then close", async () => {
    await expectFatal(rawFrame({ kind: FrameKind.PING, correlationId: 3, message: new Uint8Array(4), messageLength: 400 }), ErrorCode.MALFORMED_FRAME);
  });

  it("PW-FRAME-006: an oversize frame is FRAME_TOO_LARGE (limit set) as soon as its length is read", async () => {
    const { client } = await RawClient.ready(url);
    // Only the 4-byte length of a 1 GiB frame: the broker must answer without waiting for the rest.
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 1 << 30);
    client.send(header);
    const { correlationId, error } = await client.nextError();
    expect(error.code).toBe(ErrorCode.FRAME_TOO_LARGE);
    expect(error.limit).toBe(64n * 1024n);
    expect(correlationId).toBe(0);
    await client.expectClosed();
    await othersStillServed();
  });

  it("PW-FRAME-006: a truncated frame is held, not answered, until its bytes arrive", async () => {
    const { client } = await RawClient.ready(url);
    const whole = metadata(11);
    client.send(whole.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(client.frames.length).toBe(0);
    client.send(whole.subarray(10));
    expect((await client.next()).correlationId).toBe(11);
    client.close();
  });

  it("PW-FRAME-008/PW-FRAME-014: a message that fails to decode gets MALFORMED_FRAME with its correlation id; the connection stays", async () => {
    const { client } = await RawClient.ready(url);
    client.send(rawFrame({ kind: FrameKind.METADATA_REQUEST, correlationId: 13, message: new Uint8Array([0x0a, 0xff, 0xff]) }));
    const { correlationId, error } = await client.nextError();
    expect(error.code).toBe(ErrorCode.MALFORMED_FRAME);
    expect(correlationId).toBe(13);
    client.send(metadata(15));
    expect((await client.next()).correlationId).toBe(15);
    client.close();
  });

  it("PW-FRAME-009: an unknown kind gets UNKNOWN_FRAME_KIND with its correlation id; the connection stays", async () => {
    const { client } = await RawClient.ready(url);
    client.send(rawFrame({ kind: 999, correlationId: 17 }));
    const { correlationId, error } = await client.nextError();
    expect(error.code).toBe(ErrorCode.UNKNOWN_FRAME_KIND);
    expect(correlationId).toBe(17);
    client.send(metadata(19));
    expect((await client.next()).correlationId).toBe(19);
    client.close();
  });

  it("PW-FRAME-011/PW-FRAME-012: pipelined requests are answered by correlation id, out of order when work differs", async () => {
    const { client } = await RawClient.ready(url);
    // A long-poll fetch at the high watermark waits; the metadata request sent after it is answered first.
    client.send(frameOf(FrameKind.FETCH_REQUEST, 21, FetchRequestSchema, { partitions: [{ topic: "t", partition: 0, offset: 0n }], maxWaitMs: 300 }));
    client.send(metadata(23));
    const first = await client.next();
    const second = await client.next();
    expect([first.correlationId, first.kind]).toEqual([23, FrameKind.METADATA_RESPONSE]);
    expect(fromBinary(MetadataResponseSchema, first.message).topics.map((t) => t.name)).toEqual(["t"]);
    expect([second.correlationId, second.kind]).toEqual([21, FrameKind.FETCH_RESPONSE]);
    client.close();
  });

  it("PW-LIM-002: a request above max_in_flight gets TOO_MANY_IN_FLIGHT (retriable, limit set); the connection stays", async () => {
    const { client, welcome } = await RawClient.ready(url);
    expect(welcome.limits?.maxInFlight).toBe(2);
    const poll = (id: number): Uint8Array => frameOf(FrameKind.FETCH_REQUEST, id, FetchRequestSchema, { partitions: [{ topic: "t", partition: 0, offset: 0n }], maxWaitMs: 300 });
    client.send(poll(31));
    client.send(poll(33));
    client.send(poll(35));
    const { correlationId, error } = await client.nextError();
    expect(correlationId).toBe(35);
    expect(error.code).toBe(ErrorCode.TOO_MANY_IN_FLIGHT);
    expect(error.retriable).toBe(true);
    expect(error.limit).toBe(2n);
    const answered = [(await client.next()).correlationId, (await client.next()).correlationId].sort();
    expect(answered).toEqual([31, 33]);
    client.send(metadata(37));
    expect((await client.next()).correlationId).toBe(37);
    client.close();
  });

  it("PW-SESS-010: Ping is answered with a Pong carrying the same nonce and correlation id", async () => {
    const { client } = await RawClient.ready(url);
    client.send(frameOf(FrameKind.PING, 41, PingSchema, { nonce: 0xfedcba9876543210n }));
    const pong = await client.next();
    expect(pong.kind).toBe(FrameKind.PONG);
    expect(pong.correlationId).toBe(41);
    expect(fromBinary(PongSchema, pong.message).nonce).toBe(0xfedcba9876543210n);
    client.close();
  });
});

describe("framing robustness", () => {
  it("PW-FRAME-013: arbitrary bytes after the handshake never crash the broker or disturb other connections", async () => {
    const bystander = (await RawClient.ready(url)).client;
    let id = 101;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 200 }),
          // A plausible header followed by noise: exercises every header check.
          fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 200 }), fc.uint8Array({ maxLength: 100 }))
            .map(([length, headerSize, flags, kind, rest]) => {
              const bytes = new Uint8Array(16 + rest.length);
              const view = new DataView(bytes.buffer);
              view.setUint32(0, length);
              view.setUint8(4, headerSize);
              view.setUint8(5, flags);
              view.setUint16(6, kind);
              view.setUint32(8, 1001);
              view.setUint32(12, rest.length);
              bytes.set(rest, 16);
              return bytes;
            }),
        ),
        async (bytes) => {
          const { client } = await RawClient.ready(url);
          client.send(bytes);
          // Whatever the broker makes of it, it answers, waits for more bytes, or closes; never anything else.
          await new Promise((r) => setTimeout(r, 20));
          const answers = [FrameKind.ERROR, FrameKind.PONG, FrameKind.PRODUCE_RESPONSE, FrameKind.FETCH_RESPONSE, FrameKind.LIST_OFFSETS_RESPONSE, FrameKind.METADATA_RESPONSE, FrameKind.INIT_PRODUCER_RESPONSE];
          for (const frame of client.frames) expect(answers).toContain(frame.kind);
          client.close();
          id += 2;
          bystander.send(metadata(id));
          expect((await bystander.next()).correlationId).toBe(id);
        },
      ),
      { numRuns: 60 },
    );
    bystander.close();
  });
});
