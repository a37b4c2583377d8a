// The pub/sub routes over real sockets: a broker started as in production,
// clients speaking raw frames (helpers.ts), so what is checked is what goes
// over the wire.
import { fromBinary } from "@bufbuild/protobuf";
import {
  DeliverySchema, PublishRequestSchema, PublishResponseSchema, SlowConsumerSchema, SubscribeRequestSchema, UnsubscribeRequestSchema,
} from "@polywire/proto/pubsub";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import type { Frame } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../../src/index.js";
import { frameOf, RawClient } from "../helpers.js";

const FEATURES = [Feature.PUBSUB, Feature.SLOW_CONSUMER_NOTICE];
let broker: Broker;
let url: string;

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, pubsub: { maxSubscriptions: 4 } });
  url = broker.urls[0] as string;
});
afterAll(async () => {
  await broker.close();
});

async function client(features = FEATURES): Promise<RawClient> {
  const { client: c, welcome } = await RawClient.ready(url, { features });
  expect(welcome.features).toEqual(expect.arrayContaining(features));
  return c;
}

const subscribe = (c: RawClient, id: number, cid: number, subject: string, queueGroup = "", maxPending = 0): void =>
  c.send(frameOf(FrameKind.SUBSCRIBE_REQUEST, cid, SubscribeRequestSchema, { subscriptionId: id, subject, queueGroup, maxPending }));
const publish = (c: RawClient, cid: number, subject: string, body: string, ack = true): void =>
  c.send(frameOf(FrameKind.PUBLISH_REQUEST, cid, PublishRequestSchema, { subject, ack, headers: [{ key: "k", value: new TextEncoder().encode("v") }] }, new TextEncoder().encode(body)));

async function expectKind(c: RawClient, kind: FrameKind): Promise<Frame> {
  const frame = await c.next();
  expect(FrameKind[frame.kind]).toBe(FrameKind[kind]);
  return frame;
}

describe("pub/sub routes", () => {
  it("PW-PUBSUB-011, PW-PUBSUB-013, PW-PUBSUB-021, PW-PUBSUB-023: a message reaches every matching subscription, its own publisher's included, with its subject, headers and body", async () => {
    const sub = await client();
    const pub = await client();
    subscribe(sub, 1, 1, "orders.*");
    subscribe(sub, 2, 3, "orders.>");
    await expectKind(sub, FrameKind.SUBSCRIBE_RESPONSE);
    await expectKind(sub, FrameKind.SUBSCRIBE_RESPONSE);
    subscribe(pub, 7, 1, "orders.eu");
    await expectKind(pub, FrameKind.SUBSCRIBE_RESPONSE);
    publish(pub, 3, "orders.eu", "hello");
    const deliveries = [await pub.next(), await pub.next()];
    const answer = deliveries.find((f) => f.kind === FrameKind.PUBLISH_RESPONSE) as Frame;
    expect(fromBinary(PublishResponseSchema, answer.message).routed).toBe(3);
    const own = deliveries.find((f) => f.kind === FrameKind.DELIVERY) as Frame;
    expect(fromBinary(DeliverySchema, own.message).subscriptionId).toBe(7);
    const got = [await expectKind(sub, FrameKind.DELIVERY), await expectKind(sub, FrameKind.DELIVERY)];
    const decoded = got.map((f) => ({ ...fromBinary(DeliverySchema, f.message), correlationId: f.correlationId, body: new TextDecoder().decode(f.payload) }));
    expect(decoded.map((d) => d.subscriptionId).sort()).toEqual([1, 2]);
    for (const d of decoded) {
      expect(d).toMatchObject({ correlationId: 0, subject: "orders.eu", replyTo: "", sequence: 1n, body: "hello" });
      expect(d.headers.map((h) => [h.key, new TextDecoder().decode(h.value)])).toEqual([["k", "v"]]);
    }
    sub.close();
    pub.close();
  });

  it("PW-PUBSUB-022: an invalid publish is answered with an Error without ack, and routes nothing", async () => {
    const c = await client();
    subscribe(c, 1, 1, ">");
    await expectKind(c, FrameKind.SUBSCRIBE_RESPONSE);
    publish(c, 3, "a..b", "x", false);
    expect((await c.nextError()).error.code).toBe(ErrorCode.INVALID_SUBJECT);
    publish(c, 5, "$sys.x", "x", false);
    const reserved = await c.nextError();
    expect(reserved.correlationId).toBe(5);
    expect(reserved.error.code).toBe(ErrorCode.RESERVED_SUBJECT);
    // Without ack a valid publish gets no PublishResponse: the next frame is the Delivery.
    publish(c, 7, "ok", "y", false);
    const frame = await expectKind(c, FrameKind.DELIVERY);
    expect(fromBinary(DeliverySchema, frame.message).subject).toBe("ok");
    c.close();
  });

  it("PW-PUBSUB-016: a SubscribeRequest beyond the bound fails with TOO_MANY_SUBSCRIPTIONS and its limit; the connection stays", async () => {
    const c = await client();
    for (let i = 1; i <= 4; i++) subscribe(c, i, 2 * i - 1, `s${i}`);
    for (let i = 1; i <= 4; i++) await expectKind(c, FrameKind.SUBSCRIBE_RESPONSE);
    subscribe(c, 5, 11, "s5");
    const refused = await c.nextError();
    expect(refused.error.limit).toBe(4n);
    expect(refused.error.code).toBe(ErrorCode.TOO_MANY_SUBSCRIPTIONS);
    c.send(frameOf(FrameKind.UNSUBSCRIBE_REQUEST, 13, UnsubscribeRequestSchema, { subscriptionId: 1 }));
    await expectKind(c, FrameKind.UNSUBSCRIBE_RESPONSE);
    subscribe(c, 5, 15, "s5");
    await expectKind(c, FrameKind.SUBSCRIBE_RESPONSE);
    c.close();
  });

  it("PW-PUBSUB-015: a closed connection's subscriptions are gone", async () => {
    const sub = await client();
    const pub = await client();
    subscribe(sub, 1, 1, "gone");
    await expectKind(sub, FrameKind.SUBSCRIBE_RESPONSE);
    publish(pub, 1, "gone", "1");
    expect(fromBinary(PublishResponseSchema, (await expectKind(pub, FrameKind.PUBLISH_RESPONSE)).message).routed).toBe(1);
    sub.close();
    await sub.closed;
    // The broker notices the close soon after the socket goes; poll until it has.
    let routed = 1;
    for (let i = 0; i < 100 && routed !== 0; i++) {
      publish(pub, 3 + 2 * i, "gone", "2");
      routed = fromBinary(PublishResponseSchema, (await expectKind(pub, FrameKind.PUBLISH_RESPONSE)).message).routed;
      if (routed !== 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(routed).toBe(0);
    pub.close();
  });

  it("PW-PUBSUB-030, PW-PUBSUB-031, PW-PUBSUB-032: a subscriber that does not read costs the publisher nothing; its drops take sequence numbers and are all reported", { timeout: 60_000 }, async () => {
    const slow = await client();
    const fast = await client();
    const pub = await client();
    subscribe(slow, 1, 1, "flood", "", 100);
    subscribe(fast, 1, 1, "flood");
    await expectKind(slow, FrameKind.SUBSCRIBE_RESPONSE);
    await expectKind(fast, FrameKind.SUBSCRIBE_RESPONSE);
    slow.socket.pause();
    const count = 20_000;
    const body = "x".repeat(1000);
    const started = performance.now();
    for (let i = 0; i < count; i++) publish(pub, 1 + 2 * (i % 500), "flood", body, i === count - 1);
    const answer = await expectKind(pub, FrameKind.PUBLISH_RESPONSE);
    expect(fromBinary(PublishResponseSchema, answer.message).routed).toBe(2);
    const publishMs = performance.now() - started;
    // The fast subscriber got every message, in order, while the slow one read nothing.
    let last = 0;
    while (last < count) {
      const f = await expectKind(fast, FrameKind.DELIVERY);
      const seq = Number(fromBinary(DeliverySchema, f.message).sequence);
      expect(seq).toBe(last + 1);
      last = seq;
    }
    expect(publishMs).toBeLessThan(30_000);
    slow.socket.resume();
    let delivered = 0;
    let gaps = 0;
    let noticed = 0;
    let previous = 0;
    // Read until every message is accounted for: delivered, or dropped and reported.
    while (delivered + noticed < count) {
      const f = await slow.next(5_000);
      if (f.kind === FrameKind.SLOW_CONSUMER) {
        const n = fromBinary(SlowConsumerSchema, f.message);
        expect(n).toMatchObject({ subscriptionId: 1, subject: "flood" });
        noticed += Number(n.dropped);
        continue;
      }
      expect(f.kind).toBe(FrameKind.DELIVERY);
      const seq = Number(fromBinary(DeliverySchema, f.message).sequence);
      gaps += seq - previous - 1;
      previous = seq;
      delivered++;
    }
    gaps += count - previous;
    expect(noticed).toBeGreaterThan(0);
    expect(noticed).toBe(gaps);
    expect(delivered + noticed).toBe(count);
    const metrics = await broker.metrics.registry.metrics();
    expect(metrics).toMatch(/polywire_pubsub_messages_dropped_total\{reason="max_pending"\} [1-9]/);
    expect(metrics).toMatch(/polywire_pubsub_slow_consumer_notices_total [1-9]/);
    expect(metrics).toMatch(/polywire_pubsub_subscriptions [1-9]/);
    for (const c of [slow, fast, pub]) c.close();
  });
});
