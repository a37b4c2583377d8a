import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FetchRequestSchema, MetadataResponseSchema, ProduceRequestSchema } from "@polywire/proto/log";
import { CloseSchema, DrainSchema, ErrorCode, ErrorSchema, Feature, FrameKind, PingSchema, PongSchema } from "@polywire/proto/session";
import { afterEach, describe, expect, it } from "vitest";
import { PolywireError } from "../src/index.js";
import { Connection, type ConnectionState } from "../src/entry/connection.js";
import { FakeBroker } from "./fake-broker.js";

let fake: FakeBroker | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const metadataResponse = toBinary(MetadataResponseSchema, create(MetadataResponseSchema, { clusterId: "fake" }));

describe("Connection handshake", () => {
  it("PW-SESS-001/PW-SESS-003: sends Hello on correlation id 1 with versions 1..1, features, client id and max frame size", async () => {
    fake = await FakeBroker.start();
    const states: ConnectionState[] = [];
    const conn = await Connection.connect(fake.url, { clientId: "tester", features: [Feature.LOG, Feature.DRAIN_NOTICE], maxFrameSize: 1 << 20 });
    conn.on("state", (s) => states.push(s));
    const peer = await fake.peer();
    expect(peer.hello).toMatchObject({ versions: { min: 1, max: 1 }, features: [Feature.LOG, Feature.DRAIN_NOTICE], clientId: "tester", maxFrameSize: 1 << 20 });
    expect(conn.state).toBe("ready");
    expect(conn.hasFeature(Feature.LOG)).toBe(true);
    expect(conn.hasFeature(Feature.PUBSUB)).toBe(false);
    await conn.close();
    expect(states).toEqual(["closed"]);
  });

  it("PW-SESS-004: an UNSUPPORTED_VERSION answer rejects connect with supportedVersions", async () => {
    fake = await FakeBroker.start({
      onHello: (peer) => {
        peer.sendError(1, ErrorCode.UNSUPPORTED_VERSION, "speak 2", { supportedVersions: { min: 2, max: 3 } });
        peer.socket.end();
      },
    });
    const error = await Connection.connect(fake.url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolywireError);
    expect(error).toMatchObject({ code: "UNSUPPORTED_VERSION", supportedVersions: { min: 2, max: 3 }, retriable: false });
  });

  it("PW-SESS-005: a Welcome granting features that were not requested is refused", async () => {
    fake = await FakeBroker.start({ welcome: { features: [Feature.LOG, Feature.PUBSUB] } });
    await expect(Connection.connect(fake.url, { features: [Feature.LOG] })).rejects.toMatchObject({ code: "FEATURE_NOT_NEGOTIATED" });
  });

  it("PW-SESS-008: a broker that never answers Hello makes connect fail with TIMEOUT", async () => {
    fake = await FakeBroker.start({ onHello: () => {} });
    const started = Date.now();
    await expect(Connection.connect(fake.url, { connectTimeoutMs: 300 })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("PW-AUTH-001: answers AuthChallenge rounds through a custom mechanism", async () => {
    const challenges: string[] = [];
    fake = await FakeBroker.start({
      onHello: (peer, hello) => {
        expect(hello.authMechanism).toBe("ECHO");
        peer.send(FrameKind.AUTH_CHALLENGE, 1, new Uint8Array([0x0a, 1, 0x41]));
        void peer.next().then((frame) => {
          expect([frame.kind, frame.correlationId]).toEqual([FrameKind.AUTH_RESPONSE, 1]);
          peer.send(FrameKind.WELCOME, 1, new Uint8Array([0x08, 1, 0x42, 2, 0x6d, 0x65]));
        });
      },
    });
    const conn = await Connection.connect(fake.url, {
      auth: {
        mechanism: "ECHO",
        challenge: (data) => {
          challenges.push(new TextDecoder().decode(data));
          return new TextEncoder().encode("answer");
        },
      },
    });
    expect(challenges).toEqual(["A"]);
    expect(conn.welcome.principal).toBe("me");
    await conn.close();
  });
});

describe("Connection requests", () => {
  it("PW-FRAME-010/PW-FRAME-011: requests carry distinct odd correlation ids and answers are matched by id, in any order", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const a = conn.call(FrameKind.METADATA_REQUEST, {});
    const b = conn.call(FrameKind.METADATA_REQUEST, { topics: ["b"] });
    const fa = await peer.next();
    const fb = await peer.next();
    expect(fa.correlationId % 2).toBe(1);
    expect(fb.correlationId % 2).toBe(1);
    expect(fa.correlationId).not.toBe(fb.correlationId);
    peer.send(FrameKind.METADATA_RESPONSE, fb.correlationId, toBinary(MetadataResponseSchema, create(MetadataResponseSchema, { clusterId: "second" })));
    peer.send(FrameKind.METADATA_RESPONSE, fa.correlationId, toBinary(MetadataResponseSchema, create(MetadataResponseSchema, { clusterId: "first" })));
    expect((await a).message.clusterId).toBe("first");
    expect((await b).message.clusterId).toBe("second");
    await conn.close();
  });

  it("PW-SESS-012: an Error frame rejects its request with the broker's code, retriable and limit", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const pending = conn.call(FrameKind.METADATA_REQUEST, {});
    const frame = await peer.next();
    peer.send(FrameKind.ERROR, frame.correlationId, toBinary(ErrorSchema, create(ErrorSchema, { code: ErrorCode.TOO_MANY_IN_FLIGHT, message: "slow down", retriable: true, limit: 8n, retryAfterMs: 20 })));
    await expect(pending).rejects.toMatchObject({ code: "TOO_MANY_IN_FLIGHT", retriable: true, limit: 8n, retryAfterMs: 20, message: "slow down" });
    await conn.close();
  });

  it("PW-LIM-002: requests beyond the broker's max_in_flight wait locally instead of being sent", async () => {
    fake = await FakeBroker.start({ welcome: { limits: { maxInFlight: 2 } } });
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const calls = Array.from({ length: 5 }, () => conn.call(FrameKind.METADATA_REQUEST, {}));
    await new Promise((r) => setTimeout(r, 100));
    expect(peer.frames.length).toBe(2);
    expect(conn.inFlight).toBe(2);
    for (let answered = 0; answered < 5; answered++) {
      const frame = await peer.next();
      expect(conn.inFlight).toBeLessThanOrEqual(2);
      peer.send(FrameKind.METADATA_RESPONSE, frame.correlationId, metadataResponse);
    }
    await Promise.all(calls);
    await conn.close();
  });

  it("a request that times out fails with TIMEOUT, an aborted one with CANCELLED, and late answers are ignored", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    await expect(conn.call(FrameKind.METADATA_REQUEST, {}, undefined, { timeoutMs: 50 })).rejects.toMatchObject({ code: "TIMEOUT", retriable: true });
    const controller = new AbortController();
    const aborted = conn.call(FrameKind.METADATA_REQUEST, {}, undefined, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: "CANCELLED" });
    const late = await peer.next();
    peer.send(FrameKind.METADATA_RESPONSE, late.correlationId, metadataResponse);
    expect(conn.inFlight).toBe(0);
    const next = conn.call(FrameKind.METADATA_REQUEST, {});
    await peer.next();
    const frame = await peer.next();
    peer.send(FrameKind.METADATA_RESPONSE, frame.correlationId, metadataResponse);
    expect((await next).message.clusterId).toBe("fake");
    await conn.close();
  });

  it("PW-FRAME-007: a request larger than the broker's max_frame_size fails locally with FRAME_TOO_LARGE", async () => {
    fake = await FakeBroker.start({ welcome: { limits: { maxFrameSize: 65_536 } } });
    const conn = await Connection.connect(fake.url);
    const message = toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { topic: "t" }));
    // Exactly the limit goes out; one byte more fails before it is sent.
    const exact = conn.request(FrameKind.PRODUCE_REQUEST, message, new Uint8Array(65_536 - 16 - message.byteLength));
    const peer = await fake.peer();
    const sent = await peer.next();
    expect(16 + sent.message.byteLength + sent.payload.byteLength).toBe(65_536);
    peer.send(FrameKind.PRODUCE_RESPONSE, sent.correlationId, new Uint8Array(0));
    await exact;
    await expect(conn.request(FrameKind.PRODUCE_REQUEST, message, new Uint8Array(65_536 - 16 - message.byteLength + 1))).rejects.toMatchObject({ code: "FRAME_TOO_LARGE", limit: 65_536n });
    await conn.close();
  });

  it("PW-FRAME-020: a maxFrameSize below 65 536 is refused before dialing; a Welcome advertising less fails the handshake", async () => {
    fake = await FakeBroker.start({ welcome: { limits: { maxFrameSize: 4096 } } });
    await expect(Connection.connect(fake.url, { maxFrameSize: 65_535 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(Connection.connect(fake.url)).rejects.toMatchObject({ code: "MALFORMED_FRAME" });
    // Every handshake frame fits 64 KiB: a Hello that would not is not sent.
    await expect(Connection.connect(fake.url, { clientId: "c".repeat(70_000) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("PW-SESS-025: a Ping goes out at once while max_in_flight requests await answers and others wait for a slot", async () => {
    fake = await FakeBroker.start({ welcome: { limits: { maxInFlight: 1 } } });
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const calls = [conn.call(FrameKind.METADATA_REQUEST, {}), conn.call(FrameKind.METADATA_REQUEST, {})];
    const rtt = conn.ping();
    const first = await peer.next();
    const ping = await peer.next();
    expect([first.kind, ping.kind]).toEqual([FrameKind.METADATA_REQUEST, FrameKind.PING]);
    expect(ping.correlationId % 2).toBe(1);
    expect(conn.inFlight).toBe(1);
    peer.send(FrameKind.PONG, ping.correlationId, toBinary(PongSchema, create(PongSchema, { nonce: fromBinary(PingSchema, ping.message).nonce })));
    expect(await rtt).toBeGreaterThanOrEqual(0);
    peer.send(FrameKind.METADATA_RESPONSE, first.correlationId, metadataResponse);
    const second = await peer.next();
    peer.send(FrameKind.METADATA_RESPONSE, second.correlationId, metadataResponse);
    await Promise.all(calls);
    await conn.close();
  });

  it("PW-SESS-026/PW-FRAME-022: `checksum` asks for FEATURE_FRAME_CHECKSUM and flags the client's frames; without it the feature is not asked for", async () => {
    fake = await FakeBroker.start();
    const plain = await Connection.connect(fake.url);
    expect((await fake.peer()).hello.features).not.toContain(Feature.FRAME_CHECKSUM);
    await plain.close();
    const checked = await Connection.connect(fake.url, { checksum: true });
    const peer = await fake.peer(1);
    expect(peer.hello.features).toContain(Feature.FRAME_CHECKSUM);
    const pending = checked.call(FrameKind.METADATA_REQUEST, {});
    const frame = await peer.next();
    expect(frame.flags & 1).toBe(1);
    peer.send(FrameKind.METADATA_RESPONSE, frame.correlationId, metadataResponse);
    await pending;
    await checked.close();
  });

  it("PW-FRAME-016: a connection-level Error naming a reused correlation id closes the connection and says which id", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const pending = conn.call(FrameKind.METADATA_REQUEST, {});
    const frame = await peer.next();
    peer.send(FrameKind.ERROR, 0, toBinary(ErrorSchema, create(ErrorSchema, { code: ErrorCode.INVALID_ARGUMENT, message: "reused", requestCorrelationId: frame.correlationId })));
    peer.socket.end();
    const failure = await pending.catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "CONNECTION_LOST" });
    expect(String((failure as PolywireError).message)).toContain(`request correlation id ${frame.correlationId}`);
  });

  it("PW-SESS-010: a broker Ping is answered with a Pong of the same nonce and correlation id", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    peer.send(FrameKind.PING, 2, toBinary(PingSchema, create(PingSchema, { nonce: 77n })));
    const pong = await peer.next();
    expect([pong.kind, pong.correlationId, fromBinary(PongSchema, pong.message).nonce]).toEqual([FrameKind.PONG, 2, 77n]);
    await conn.close();
  });

  it("PW-FRAME-009: an unknown frame kind from the broker is answered with UNKNOWN_FRAME_KIND and the connection stays", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    peer.send(4242, 6, new Uint8Array(0));
    const answer = await peer.next();
    expect([answer.kind, answer.correlationId, fromBinary(ErrorSchema, answer.message).code]).toEqual([FrameKind.ERROR, 6, ErrorCode.UNKNOWN_FRAME_KIND]);
    expect(conn.state).toBe("ready");
    await conn.close();
  });

  it("PW-FRAME-013: a framing error from the broker is reported on correlation id 0 and the connection closes", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const closed = new Promise<PolywireError | undefined>((resolve) => conn.on("close", resolve));
    const outcome = conn.call(FrameKind.METADATA_REQUEST, {}).then(() => undefined, (error: unknown) => error);
    await peer.next();
    peer.socket.write(new Uint8Array([0, 0, 0, 20, 16, 0x80, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]));
    const report = await peer.next();
    expect([report.kind, report.correlationId, fromBinary(ErrorSchema, report.message).code]).toEqual([FrameKind.ERROR, 0, ErrorCode.MALFORMED_FRAME]);
    expect((await closed)?.code).toBe("MALFORMED_FRAME");
    expect(await outcome).toMatchObject({ code: "CONNECTION_LOST", retriable: true });
    expect(conn.state).toBe("closed");
  });
});

describe("Connection keepalive, drain and close", () => {
  it("PW-SESS-011: pings when idle and declares the connection lost when no Pong comes back", async () => {
    fake = await FakeBroker.start({ welcome: { keepaliveIntervalMs: 100 } });
    const conn = await Connection.connect(fake.url, { pongTimeoutMs: 150 });
    const peer = await fake.peer();
    const ping = await peer.next(2_000);
    expect(ping.kind).toBe(FrameKind.PING);
    expect(ping.correlationId % 2).toBe(1);
    const error = await new Promise<PolywireError | undefined>((resolve) => conn.on("close", resolve));
    expect(error?.code).toBe("CONNECTION_LOST");
    expect(error?.message).toMatch(/Pong/);
  });

  it("PW-SESS-011: a connection whose Pings are answered stays up", async () => {
    fake = await FakeBroker.start({ welcome: { keepaliveIntervalMs: 60 } });
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    for (let i = 0; i < 4; i++) {
      const ping = await peer.next(2_000);
      expect(ping.kind).toBe(FrameKind.PING);
      peer.send(FrameKind.PONG, ping.correlationId, toBinary(PongSchema, create(PongSchema, { nonce: fromBinary(PingSchema, ping.message).nonce })));
    }
    expect(conn.state).toBe("ready");
    await conn.close();
  });

  it("PW-SESS-015: after Drain the connection is draining, refuses new work locally with SHUTTING_DOWN and still serves fetches", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const notice = new Promise((resolve) => conn.on("drain", resolve));
    peer.send(FrameKind.DRAIN, 0, toBinary(DrainSchema, create(DrainSchema, { deadlineMs: 500, reason: "upgrade", alternateUrls: ["tcp://other:1"] })));
    expect(await notice).toMatchObject({ deadlineMs: 500, reason: "upgrade", alternateUrls: ["tcp://other:1"] });
    expect(conn.state).toBe("draining");
    await expect(conn.call(FrameKind.PRODUCE_REQUEST, { topic: "t" }, new Uint8Array(0))).rejects.toMatchObject({ code: "SHUTTING_DOWN", retriable: true });
    const fetch = conn.call(FrameKind.FETCH_REQUEST, {});
    const frame = await peer.next();
    expect(frame.kind).toBe(FrameKind.FETCH_REQUEST);
    fromBinary(FetchRequestSchema, frame.message);
    peer.send(FrameKind.FETCH_RESPONSE, frame.correlationId, new Uint8Array(0));
    await fetch;
    await conn.close();
  });

  it("PW-SESS-016: close() waits for requests in flight, then sends Close and ends the transport", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const pending = conn.call(FrameKind.METADATA_REQUEST, {});
    const request = await peer.next();
    const closing = conn.close();
    await expect(conn.call(FrameKind.METADATA_REQUEST, {})).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    await new Promise((r) => setTimeout(r, 50));
    expect(peer.frames.length).toBe(0);
    peer.send(FrameKind.METADATA_RESPONSE, request.correlationId, metadataResponse);
    await pending;
    const close = await peer.next();
    expect([close.kind, close.correlationId, fromBinary(CloseSchema, close.message).code]).toEqual([FrameKind.CLOSE, 0, ErrorCode.UNSPECIFIED]);
    peer.socket.end();
    await closing;
    expect(conn.state).toBe("closed");
  });

  it("a dropped connection fails pending requests with CONNECTION_LOST and emits close", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const pending = conn.call(FrameKind.METADATA_REQUEST, {});
    await peer.next();
    peer.socket.destroy();
    await expect(pending).rejects.toMatchObject({ code: "CONNECTION_LOST", retriable: true });
    await conn.closed;
    expect(conn.state).toBe("closed");
  });

  it("close() with an aborted signal drops the connection at once, failing what is in flight", async () => {
    fake = await FakeBroker.start();
    const conn = await Connection.connect(fake.url);
    const peer = await fake.peer();
    const outcome = conn.call(FrameKind.METADATA_REQUEST, {}).then(() => undefined, (error: unknown) => error);
    await peer.next();
    const controller = new AbortController();
    const closing = conn.close({ signal: controller.signal, timeoutMs: 10_000 });
    controller.abort();
    await closing;
    expect(conn.state).toBe("closed");
    expect(await outcome).toMatchObject({ code: "CONNECTION_LOST" });
  });
});
