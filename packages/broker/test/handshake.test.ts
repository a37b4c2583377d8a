import { fromBinary } from "@bufbuild/protobuf";
import { MetadataRequestSchema } from "@polywire/proto/log";
import { AuthChallengeSchema, AuthResponseSchema, ErrorCode, Feature, FrameKind, PingSchema, WelcomeSchema } from "@polywire/proto/session";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolywireError } from "@polywire/runtime";
import { Connection } from "@polywire/runtime/connection";
import { Broker } from "../src/index.js";
import { describeError, frameOf, helloFrame, RawClient } from "./helpers.js";

const text = new TextEncoder();

describe("handshake (§3.1)", () => {
  let broker: Broker;
  let url: string;

  beforeAll(async () => {
    broker = await Broker.start({
      listeners: ["tcp://127.0.0.1:0"],
      storage: { engine: "memory" },
      handshakeTimeoutMs: 300,
      keepaliveIntervalMs: 200,
      limits: { maxConnections: 3 },
    });
    url = broker.urls[0] as string;
  });

  afterAll(async () => {
    await broker.close();
  });

  it("PW-SESS-001: a first frame other than Hello gets HANDSHAKE_REQUIRED, then close", async () => {
    const client = await RawClient.connect(url);
    client.send(frameOf(FrameKind.METADATA_REQUEST, 3, MetadataRequestSchema, {}));
    const { correlationId, error } = await client.nextError();
    expect(error.code).toBe(ErrorCode.HANDSHAKE_REQUIRED);
    expect(correlationId).toBe(3);
    await client.expectClosed();
  });

  it("PW-SESS-001: a Hello with a correlation id other than 1 gets HANDSHAKE_REQUIRED, then close", async () => {
    const client = await RawClient.connect(url);
    const hello = helloFrame();
    new DataView(hello.buffer, hello.byteOffset).setUint32(8, 5);
    client.send(hello);
    expect((await client.nextError()).error.code).toBe(ErrorCode.HANDSHAKE_REQUIRED);
    await client.expectClosed();
  });

  it("PW-SESS-003/PW-SESS-009: Welcome selects version 1 on correlation id 1 and advertises the limits (PW-LIM-001)", async () => {
    const client = await RawClient.connect(url);
    client.send(helloFrame({ versions: { min: 1, max: 7 } }));
    const frame = await client.next();
    expect(frame.kind).toBe(FrameKind.WELCOME);
    expect(frame.correlationId).toBe(1);
    const welcome = fromBinary(WelcomeSchema, frame.message);
    expect(welcome.version).toBe(1);
    expect(welcome.brokerId).toBe(broker.id);
    expect(welcome.keepaliveIntervalMs).toBe(200);
    expect(welcome.limits).toMatchObject({
      maxFrameSize: 16 * 1024 * 1024, maxBatchSize: 8 * 1024 * 1024, maxUncompressedBatchSize: 64 * 1024 * 1024,
      idempotenceWindow: 5, maxInFlight: 1024,
    });
    expect(welcome.sessionId).not.toBe("");
    client.close();
  });

  for (const [name, versions] of [["no overlap", { min: 2, max: 9 }], ["min above max", { min: 1, max: 0 }], ["missing versions (PW-SESS-017)", undefined]] as const) {
    it(`PW-SESS-004: ${name} gets UNSUPPORTED_VERSION with supported_versions on correlation id 1, then close`, async () => {
      const client = await RawClient.connect(url);
      client.send(helloFrame({ versions }));
      const { correlationId, error } = await client.nextError();
      expect(error.code).toBe(ErrorCode.UNSUPPORTED_VERSION);
      expect(correlationId).toBe(1);
      expect(error.supportedVersions).toMatchObject({ min: 1, max: 1 });
      expect(error.retriable).toBe(false);
      await client.expectClosed();
      const { client: other } = await RawClient.ready(url);
      other.close();
    });
  }

  it("PW-SESS-005: Welcome grants the intersection of the requested and supported features", async () => {
    const { client, welcome } = await RawClient.ready(url, { features: [Feature.LOG, Feature.FRAME_CHECKSUM, 4242 as Feature] });
    expect(welcome.features).toEqual([Feature.LOG]);
    client.close();
  });

  it("PW-SESS-006: a request of a feature not granted gets FEATURE_NOT_NEGOTIATED; the connection stays", async () => {
    const { client } = await RawClient.ready(url, { features: [] });
    client.send(frameOf(FrameKind.METADATA_REQUEST, 3, MetadataRequestSchema, {}));
    const { correlationId, error } = await client.nextError();
    expect([correlationId, error.code]).toEqual([3, ErrorCode.FEATURE_NOT_NEGOTIATED]);
    client.send(frameOf(FrameKind.PING, 5, PingSchema, { nonce: 1n }));
    expect((await client.next()).kind).toBe(FrameKind.PONG);
    client.close();
  });

  it("PW-SESS-008: a connection that does not complete the handshake in time gets TIMEOUT and is closed", async () => {
    const client = await RawClient.connect(url);
    const started = Date.now();
    const { error } = await client.nextError(2_000);
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    await client.expectClosed();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("PW-SESS-011: a connection silent for twice the keepalive interval gets a connection-level TIMEOUT and is closed", async () => {
    const { client } = await RawClient.ready(url);
    const { correlationId, error } = await client.nextError(3_000);
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(correlationId).toBe(0);
    await client.expectClosed();
  });

  it("PW-SESS-011: Pings keep a connection alive past the idle timeout", async () => {
    const { client } = await RawClient.ready(url);
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 100));
      client.send(frameOf(FrameKind.PING, 3 + 2 * i, PingSchema, { nonce: BigInt(i) }));
      expect((await client.next()).kind).toBe(FrameKind.PONG);
    }
    expect(client.isClosed).toBe(false);
    client.close();
  });

  it("PW-LIM-004: at max connections a new Hello gets TOO_MANY_CONNECTIONS (retriable), then close", async () => {
    const held = await Promise.all([RawClient.ready(url), RawClient.ready(url), RawClient.ready(url)]);
    const extra = await RawClient.connect(url);
    extra.send(helloFrame());
    const { correlationId, error } = await extra.nextError();
    expect([correlationId, error.code, error.retriable]).toEqual([1, ErrorCode.TOO_MANY_CONNECTIONS, true]);
    await extra.expectClosed();
    held[0].client.close();
    await held[0].client.closed;
    await expect.poll(() => broker.connections).toBeLessThan(3);
    const again = await RawClient.ready(url);
    again.client.close();
    for (const h of held.slice(1)) h.client.close();
  });
});

describe("authentication (§3.2)", () => {
  let broker: Broker;
  let tcp: string;
  let unix: string;
  let dir: { path: string; remove(): void };

  beforeAll(async () => {
    const { tempDir } = await import("./helpers.js");
    dir = tempDir("auth");
    broker = await Broker.start({
      listeners: ["tcp://127.0.0.1:0", `unix://${dir.path}/broker.sock`],
      storage: { engine: "memory" },
      auth: {
        plain: { alice: "wonderland" },
        token: (token) => (token === "s3cret-token" ? "service-a" : null),
      },
    });
    [tcp, unix] = broker.urls as [string, string];
  });

  afterAll(async () => {
    await broker.close();
    dir.remove();
  });

  const plain = (user: string, password: string, authzid = ""): Uint8Array => text.encode(`${authzid}\u0000${user}\u0000${password}`);

  it("PW-AUTH-004: PLAIN with the right password is welcomed with its principal", async () => {
    const client = await RawClient.connect(unix);
    client.send(helloFrame({ authMechanism: "PLAIN", authInitialResponse: plain("alice", "wonderland") }));
    const frame = await client.next();
    expect(frame.kind, describeError(frame)).toBe(FrameKind.WELCOME);
    expect(fromBinary(WelcomeSchema, frame.message).principal).toBe("alice");
    client.close();
  });

  it("PW-AUTH-001: PLAIN without an initial response gets an empty challenge, answered by one AuthResponse", async () => {
    const client = await RawClient.connect(unix);
    client.send(helloFrame({ authMechanism: "PLAIN" }));
    const challenge = await client.next();
    expect([challenge.kind, challenge.correlationId]).toEqual([FrameKind.AUTH_CHALLENGE, 1]);
    expect(fromBinary(AuthChallengeSchema, challenge.message).challenge.byteLength).toBe(0);
    client.send(frameOf(FrameKind.AUTH_RESPONSE, 1, AuthResponseSchema, { response: plain("alice", "wonderland") }));
    const welcome = await client.next();
    expect(welcome.kind, describeError(welcome)).toBe(FrameKind.WELCOME);
    client.close();
  });

  for (const [what, response] of [["a wrong password", plain("alice", "nope")], ["an unknown user", plain("mallory", "wonderland")], ["a foreign authzid", plain("alice", "wonderland", "root")], ["garbage", Uint8Array.of(1, 2, 3)]] as const) {
    it(`PW-AUTH-003: PLAIN with ${what} gets AUTHENTICATION_FAILED with the same message, then close`, async () => {
      const client = await RawClient.connect(unix);
      client.send(helloFrame({ authMechanism: "PLAIN", authInitialResponse: response }));
      const { correlationId, error } = await client.nextError();
      expect([correlationId, error.code]).toEqual([1, ErrorCode.AUTHENTICATION_FAILED]);
      expect(error.message).toBe("authentication failed");
      await client.expectClosed();
    });
  }

  it("PW-AUTH-004: TOKEN with a valid bearer token is welcomed; an invalid one fails", async () => {
    const good = await RawClient.connect(tcp);
    good.send(helloFrame({ authMechanism: "TOKEN", authInitialResponse: text.encode("s3cret-token") }));
    const frame = await good.next();
    expect(frame.kind, describeError(frame)).toBe(FrameKind.WELCOME);
    expect(fromBinary(WelcomeSchema, frame.message).principal).toBe("service-a");
    good.close();
    const bad = await RawClient.connect(tcp);
    bad.send(helloFrame({ authMechanism: "TOKEN", authInitialResponse: text.encode("guess") }));
    expect((await bad.nextError()).error.code).toBe(ErrorCode.AUTHENTICATION_FAILED);
    await bad.expectClosed();
  });

  it("PW-AUTH-004: an anonymous Hello to a broker with authentication gets AUTHENTICATION_FAILED, then close", async () => {
    const client = await RawClient.connect(tcp);
    client.send(helloFrame());
    expect((await client.nextError()).error.code).toBe(ErrorCode.AUTHENTICATION_FAILED);
    await client.expectClosed();
  });

  it("PW-AUTH-002: an unknown mechanism gets UNSUPPORTED_MECHANISM listing the mechanisms, then close", async () => {
    const client = await RawClient.connect(unix);
    client.send(helloFrame({ authMechanism: "SCRAM-SHA-256" }));
    const { error } = await client.nextError();
    expect(error.code).toBe(ErrorCode.UNSUPPORTED_MECHANISM);
    expect(error.message).toContain("PLAIN");
    expect(error.message).toContain("TOKEN");
    await client.expectClosed();
  });

  it("PW-AUTH-005: PLAIN is not offered over plain TCP", async () => {
    const client = await RawClient.connect(tcp);
    client.send(helloFrame({ authMechanism: "PLAIN", authInitialResponse: plain("alice", "wonderland") }));
    const { error } = await client.nextError();
    expect(error.code).toBe(ErrorCode.UNSUPPORTED_MECHANISM);
    expect(error.message).toMatch(/mechanisms: TOKEN$/);
    await client.expectClosed();
  });

  it("PW-AUTH-004: the client Connection authenticates with PLAIN and TOKEN, and reports failures as AUTHENTICATION_FAILED", async () => {
    const plainConn = await Connection.connect(unix, { auth: { mechanism: "PLAIN", username: "alice", password: "wonderland" } });
    expect(plainConn.welcome.principal).toBe("alice");
    await plainConn.close();
    const tokenConn = await Connection.connect(tcp, { auth: { mechanism: "TOKEN", token: async () => "s3cret-token" } });
    expect(tokenConn.welcome.principal).toBe("service-a");
    await tokenConn.close();
    const failure = await Connection.connect(unix, { auth: { mechanism: "PLAIN", username: "alice", password: "wrong" } }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PolywireError);
    expect(failure).toMatchObject({ code: "AUTHENTICATION_FAILED", retriable: false });
    await expect(Connection.connect(tcp)).rejects.toMatchObject({ code: "AUTHENTICATION_FAILED" });
  });

  it("PW-SESS-007: no request but AuthResponse is processed before Welcome: one sent during the exchange is held and served after it (PW-SESS-023)", async () => {
    const client = await RawClient.connect(unix);
    client.send(helloFrame({ authMechanism: "PLAIN" }));
    expect((await client.next()).kind).toBe(FrameKind.AUTH_CHALLENGE);
    client.send(frameOf(FrameKind.METADATA_REQUEST, 3, MetadataRequestSchema, {}));
    await new Promise((r) => setTimeout(r, 100));
    expect(client.frames).toEqual([]);
    client.send(frameOf(FrameKind.AUTH_RESPONSE, 1, AuthResponseSchema, { response: plain("alice", "wonderland") }));
    expect((await client.next()).kind).toBe(FrameKind.WELCOME);
    const answer = await client.next();
    expect([answer.kind, answer.correlationId], describeError(answer)).toEqual([FrameKind.METADATA_RESPONSE, 3]);
    client.close();
  });
});
