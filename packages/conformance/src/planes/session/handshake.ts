import { Acks, ProduceRequestSchema } from "@polywire/proto/log";
import { ErrorCode, Feature, FrameKind, WelcomeSchema } from "@polywire/proto/session";
import { encodeBatch, textRecord } from "../../batch/batch.js";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame, fromHex } from "../../wire/frame.js";
import { BrokerError, codeName, decode, decodeError, encode, kindName } from "../../wire/messages.js";
import { ALL_FEATURES, helloBytes } from "../../wire/session.js";
import { expectErrorFrame, expectServing } from "../expect.js";
import { highWatermark } from "../log/io.js";

const welcome: ConformanceCase = {
  id: "session/welcome",
  title: "Hello is answered by a Welcome on correlation id 1 that picks the highest common version and grants a subset of the features asked",
  plane: "session",
  clauses: ["PW-TRANS-001", "PW-SESS-001", "PW-SESS-003", "PW-SESS-005", "PW-SESS-009", "PW-FRAME-001", "PW-FRAME-002", "PW-FRAME-020", "PW-LIM-001"],
  async run(ctx) {
    for (const versions of [{ min: 1, max: 1 }, { min: 1, max: 9 }]) {
      const session = await ctx.connect({ hello: { versions } });
      const w = session.welcome;
      checkEqual("PW-SESS-003", w.version, 1, `Welcome.version for Hello versions ${versions.min}..${versions.max}`);
      const asked = new Set<number>(ALL_FEATURES);
      check("PW-SESS-005", w.features.every((f) => asked.has(f)), `Welcome grants ${w.features.join(",")}, not all asked for`);
      const l = w.limits;
      check("PW-LIM-001", l !== undefined && l.maxFrameSize > 0 && l.maxBatchSize > 0 && l.idempotenceWindow > 0 && l.maxInFlight > 0 && l.maxUncompressedBatchSize > 0, `Welcome.limits must advertise every limit, got ${JSON.stringify(l)}`);
      check("PW-FRAME-020", (l?.maxFrameSize ?? 0) >= 65_536, `Welcome.limits.max_frame_size ${l?.maxFrameSize} is below the minimum 65536`);
      session.destroy();
    }
    for (const features of [[Feature.LOG], [], [Feature.LOG, Feature.DRAIN_NOTICE]]) {
      const session = await ctx.connect({ hello: { features } });
      const granted = session.welcome.features;
      check("PW-SESS-005", granted.every((f) => features.includes(f)), `Hello asked for [${features.join(",")}], Welcome granted [${granted.join(",")}]`);
      session.destroy();
    }
  },
};

const versionMismatch: ConformanceCase = {
  id: "session/version-mismatch",
  title: "No common version (or a malformed range) is UNSUPPORTED_VERSION on correlation id 1 with the broker's range, then close; other connections are unaffected",
  plane: "session",
  clauses: ["PW-SESS-004", "PW-SESS-017", "PW-FRAME-013", "PW-ERR-003"],
  async run(ctx) {
    const bystander = await ctx.connect();
    const ranges: Array<[{ min: number; max: number } | undefined, string]> = [
      [{ min: 2, max: 3 }, "versions 2..3"],
      [{ min: 1, max: 0 }, "versions 1..0 (min above max)"],
      [{ min: 0, max: 0 }, "versions 0..0"],
      [undefined, "no versions field (PW-SESS-017: 0..0)"],
    ];
    for (const [versions, what] of ranges) {
      const session = await ctx.connect({ handshake: false });
      session.expectAnswer(1, FrameKind.HELLO);
      session.sendFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions, features: [Feature.LOG] }) });
      const clause = versions === undefined ? "PW-SESS-017" : "PW-SESS-004";
      const error = await expectErrorFrame(session, clause, { code: ErrorCode.UNSUPPORTED_VERSION, correlationId: 1, connection: "closes" }, what);
      const range = error.supportedVersions;
      check("PW-SESS-004", range !== undefined && range.min <= 1 && range.max >= 1, `supported_versions ${JSON.stringify(range)} must be the broker's range, which holds version 1`);
    }
    await expectServing(bystander, "PW-FRAME-013", "a connection open during the failed handshakes");
  },
};

const handshakeRequired: ConformanceCase = {
  id: "session/handshake-required",
  title: "A first frame other than Hello (correlation id 1) is HANDSHAKE_REQUIRED and close, and is not processed",
  plane: "session",
  clauses: ["PW-SESS-001", "PW-SESS-007"],
  features: [Feature.LOG],
  needs: ["admin"],
  async run(ctx) {
    const topic = await ctx.topic(1);
    const ping = await ctx.connect({ handshake: false });
    ping.sendFrame({ kind: FrameKind.PING, correlationId: 1, message: new Uint8Array(0) });
    await expectErrorFrame(ping, "PW-SESS-001", { code: ErrorCode.HANDSHAKE_REQUIRED, correlationId: 1, connection: "closes" }, "a Ping as the first frame");
    const wrongId = await ctx.connect({ handshake: false });
    wrongId.sendFrame({ kind: FrameKind.HELLO, correlationId: 3, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG] }) });
    await expectErrorFrame(wrongId, "PW-SESS-001", { code: ErrorCode.HANDSHAKE_REQUIRED, correlationId: "any", connection: "closes" }, "a Hello with correlation id 3");
    const producer = await ctx.connect({ handshake: false });
    const batch = encodeBatch([textRecord("before-hello")]);
    producer.sendFrame({ kind: FrameKind.PRODUCE_REQUEST, correlationId: 1, message: encode(ProduceRequestSchema, { topic, partition: 0, acks: Acks.LEADER }), payload: batch });
    await expectErrorFrame(producer, "PW-SESS-001", { code: ErrorCode.HANDSHAKE_REQUIRED, correlationId: 1, connection: "closes" }, "a Produce as the first frame");
    const reader = await ctx.connect();
    checkEqual("PW-SESS-007", await highWatermark(reader, topic, 0), 0n, "high watermark after a Produce sent before Hello");
  },
};

const authBeforeWelcome: ConformanceCase = {
  id: "session/no-request-before-welcome",
  title: "With authentication configured, a request pipelined behind the Hello is served after Welcome when authentication succeeds and never processed when it fails; failed authentication is AUTHENTICATION_FAILED and close",
  plane: "session",
  clauses: ["PW-SESS-007", "PW-SESS-023", "PW-AUTH-002", "PW-AUTH-003", "PW-AUTH-004"],
  features: [Feature.LOG],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ token: "s3cret" });
    await variant.createTopic("guarded", 1);
    const produceFrame = (id: number): Uint8Array => encodeRawFrame({
      kind: FrameKind.PRODUCE_REQUEST, correlationId: id,
      message: encode(ProduceRequestSchema, { topic: "guarded", partition: 0, acks: Acks.LEADER }),
      payload: encodeBatch([textRecord("pipelined")]),
    });
    const hello = (token: string): Uint8Array => encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG], authMechanism: "TOKEN", authInitialResponse: new TextEncoder().encode(token) }) });
    const anonymous = await ctx.connectTo(variant.url, { handshake: false });
    anonymous.sendFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG] }) });
    await expectErrorFrame(anonymous, "PW-AUTH-004", { code: ErrorCode.AUTHENTICATION_FAILED, correlationId: 1, connection: "closes" }, "an anonymous Hello to a broker requiring TOKEN");
    const unsupported = await ctx.connectTo(variant.url, { handshake: false });
    unsupported.sendFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG], authMechanism: "SCRAM-SHA-256" }) });
    const refusal = await expectErrorFrame(unsupported, "PW-AUTH-002", { code: ErrorCode.UNSUPPORTED_MECHANISM, correlationId: 1, connection: "closes" }, "a Hello naming SCRAM-SHA-256 to a broker offering TOKEN");
    check("PW-AUTH-002", refusal.message.includes("TOKEN"), `the UNSUPPORTED_MECHANISM message must list the broker's mechanisms, got ${JSON.stringify(refusal.message)}`);
    const wrong = await ctx.connectTo(variant.url, { handshake: false });
    wrong.write(hello("wrong"));
    await expectErrorFrame(wrong, "PW-AUTH-003", { code: ErrorCode.AUTHENTICATION_FAILED, correlationId: 1, connection: "closes" }, "a Hello with a wrong token");
    // A Produce pipelined behind a Hello: held until Welcome and then served, or never processed if authentication fails (PW-SESS-023).
    let appended = 0n;
    for (const [token, what, ok] of [["wrong", "a wrong token", false], ["s3cret", "the right token", true]] as const) {
      const session = await ctx.connectTo(variant.url, { handshake: false });
      session.expectAnswer(1, FrameKind.HELLO);
      session.expectAnswer(3, FrameKind.PRODUCE_REQUEST);
      session.writeFrames([hello(token), produceFrame(3)]);
      const first = await session.nextFrame(5000);
      const reader = await ctx.connectTo(variant.url, { hello: { authMechanism: "TOKEN", authInitialResponse: new TextEncoder().encode("s3cret") } });
      if (!ok) {
        check("PW-AUTH-003", first.kind === FrameKind.ERROR && decodeError(first).code === ErrorCode.AUTHENTICATION_FAILED, `with ${what}, the first answer was ${kindName(first.kind)}`);
        await session.waitEnd(2000);
        check("PW-SESS-007", !session.received.some((f) => f.correlationId === 3), `with ${what}, the Produce pipelined behind the Hello was answered`);
        checkEqual("PW-SESS-007", await highWatermark(reader, "guarded", 0), appended, `high watermark after a Produce pipelined behind a Hello that failed authentication`);
      } else {
        checkEqual("PW-SESS-023", kindName(first.kind), kindName(FrameKind.WELCOME), `with ${what}, the answer to the Hello`);
        const answer = await session.nextFrame(5000, (f) => f.correlationId === 3);
        check("PW-SESS-023", answer.kind === FrameKind.PRODUCE_RESPONSE, () => `with ${what}, the Produce pipelined behind the Hello was answered with ${answer.kind === FrameKind.ERROR ? codeName(decodeError(answer).code) : kindName(answer.kind)}, not served after Welcome`);
        appended += 1n;
        checkEqual("PW-SESS-023", await highWatermark(reader, "guarded", 0), appended, "high watermark after a Produce pipelined behind an accepted Hello");
      }
      session.destroy();
    }
  },
};

const frozenHello: ConformanceCase = {
  id: "session/frozen-hello",
  title: "A Hello from a future client (header extension bytes, unknown fields, a wider version range) completes the handshake",
  plane: "session",
  clauses: ["PW-SESS-002", "PW-FRAME-002", "PW-COMPAT-003"],
  async run(ctx) {
    // spec/vectors/compat.json "hello-unknown-fields": versions 1..2, FEATURE_LOG, fields 100-103 unknown.
    const message = fromHex("0a04080110021201011a0d6675747572652d636c69656e74a00607aa0606667574757265b50601020304b9060102030405060708");
    const session = await ctx.connect({ handshake: false });
    session.expectAnswer(1, FrameKind.HELLO);
    session.sendFrame({ kind: FrameKind.HELLO, correlationId: 1, message, headerSize: 24 });
    const frame = await session.nextFrame(5000);
    check("PW-SESS-002", frame.kind === FrameKind.WELCOME, () => `a Hello with a header extension and unknown fields was answered with ${frame.kind === FrameKind.ERROR ? codeName(decodeError(frame).code) : kindName(frame.kind)}`);
    const w = decode(WelcomeSchema, frame.message);
    checkEqual("PW-SESS-003", w.version, 1, "Welcome.version for versions 1..2");
  },
};

const softwareIgnored: ConformanceCase = {
  id: "session/software-info-ignored",
  title: "client_id and SoftwareInfo do not change what the broker grants or advertises",
  plane: "session",
  clauses: ["PW-SESS-018"],
  async run(ctx) {
    const a = await ctx.connect({ hello: { clientId: "conformance-a", software: { name: "librdkafka", version: "2.3.0" } } });
    const b = await ctx.connect({ hello: { clientId: "", software: { name: "polywire-go", version: "9.9.9" } } });
    checkEqual("PW-SESS-018", [...b.welcome.features].sort(), [...a.welcome.features].sort(), "features granted to two clients asking the same");
    checkEqual("PW-SESS-018", b.welcome.limits, a.welcome.limits, "limits advertised to two clients");
    checkEqual("PW-SESS-018", b.welcome.version, a.welcome.version, "version chosen for two clients");
  },
};

const handshakeTimeout: ConformanceCase = {
  id: "session/handshake-timeout",
  title: "A connection that sends no Hello gets a TIMEOUT Error on correlation id 0 and is closed within the handshake timeout",
  plane: "session",
  clauses: ["PW-SESS-008"],
  needs: ["variants"],
  async run(ctx) {
    const variant = await ctx.variant({ handshakeTimeoutMs: 400 });
    const silent = await ctx.connectTo(variant.url, { handshake: false });
    const started = performance.now();
    await expectErrorFrame(silent, "PW-SESS-008", { code: ErrorCode.TIMEOUT, correlationId: 0, connection: "closes", timeoutMs: 3000 }, "a connection silent after accept");
    const took = performance.now() - started;
    check("PW-SESS-008", took >= 300, `the broker gave up after ${Math.round(took)} ms, before its 400 ms handshake timeout`);
  },
};

const handshakeTimeoutDefault: ConformanceCase = {
  id: "session/handshake-timeout-default",
  title: "With the default configuration, a silent connection is closed with TIMEOUT within 10 seconds",
  plane: "session",
  clauses: ["PW-SESS-008"],
  profiles: ["full"],
  needs: ["defaultConfig"],
  timeoutMs: 20_000,
  async run(ctx) {
    const silent = await ctx.connect({ handshake: false });
    await expectErrorFrame(silent, "PW-SESS-008", { code: ErrorCode.TIMEOUT, correlationId: 0, connection: "closes", timeoutMs: 11_500 }, "a connection silent after accept");
  },
};

const featureNotNegotiated: ConformanceCase = {
  id: "session/feature-not-negotiated",
  title: "Requests of a feature not granted are FEATURE_NOT_NEGOTIATED and the connection stays; unknown features are never granted",
  plane: "session",
  clauses: ["PW-SESS-005", "PW-SESS-006", "PW-COMPAT-004"],
  async run(ctx) {
    const session = await ctx.connect({ hello: { features: [999, 1000] } });
    checkEqual("PW-COMPAT-004", session.welcome.features, [], "features granted for a Hello asking only for unknown features");
    const id = session.nextId();
    const metadata = session.call(FrameKind.METADATA_REQUEST, { topics: [] }, undefined, { correlationId: id });
    try {
      await metadata;
      check("PW-SESS-006", false, "a MetadataRequest without FEATURE_LOG granted was served");
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      checkEqual("PW-SESS-006", codeName(error.code), codeName(ErrorCode.FEATURE_NOT_NEGOTIATED), "error for a request of a feature not granted");
      checkEqual("PW-SESS-006", error.frame.correlationId, id, "correlation id of the Error");
    }
    await expectServing(session, "PW-SESS-006", "after FEATURE_NOT_NEGOTIATED");
    const logOnly = await ctx.connect({ hello: { features: [Feature.LOG] } });
    if (ctx.welcome.features.includes(Feature.IDEMPOTENCE)) {
      try {
        await logOnly.call(FrameKind.INIT_PRODUCER_REQUEST, { producerId: -1n, producerEpoch: -1 });
        check("PW-SESS-006", false, "InitProducer without FEATURE_IDEMPOTENCE granted was served");
      } catch (error) {
        if (!(error instanceof BrokerError)) throw error;
        checkEqual("PW-SESS-006", codeName(error.code), codeName(ErrorCode.FEATURE_NOT_NEGOTIATED), "error for InitProducer on a LOG-only connection");
      }
      await expectServing(logOnly, "PW-SESS-006", "after FEATURE_NOT_NEGOTIATED");
    }
  },
};

/** Handshake cases (§3.1, §3.4). */
export const handshakeCases: readonly ConformanceCase[] = [
  welcome, versionMismatch, handshakeRequired, authBeforeWelcome, frozenHello, softwareIgnored, handshakeTimeout, handshakeTimeoutDefault, featureNotNegotiated,
];
