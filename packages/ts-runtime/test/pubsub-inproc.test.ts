// Pub/sub between a client and a broker in one process (memory://), where
// the broker offers its plane as calls (PW-TRANS-012): no frames, bodies by
// reference on request, and §9's semantics unchanged. The same API over
// tcp:// is the control where a test compares.
import { describe, expect, it } from "vitest";
import { connect, type Message, type SlowConsumerEvent, type Subscription } from "../src/index.js";
import { DIRECT_PUBSUB, type DirectPubSubOffer } from "@polywire/core";
import { Connection } from "../src/connection.js";
import { memoryUrl, startBroker, until } from "./harness.js";

async function frameCounts(broker: { metrics: { registry: { getSingleMetricAsString(name: string): Promise<string> } } }): Promise<string> {
  return (await broker.metrics.registry.getSingleMetricAsString("polywire_frames_received_total"))
    + await broker.metrics.registry.getSingleMetricAsString("polywire_frames_sent_total");
}

// Reads `count` messages and leaves the subscription open (leaving a `for await` would end it).
async function read(sub: Subscription, count: number): Promise<Message[]> {
  const got: Message[] = [];
  while (got.length < count) got.push(await sub.receive({ timeoutMs: 10_000 }));
  return got;
}

describe("in-process pub/sub (PW-TRANS-012)", () => {
  it("PW-TRANS-012: over memory:// publishes, subscriptions and deliveries take no frames; over tcp:// they do", async () => {
    await using broker = await startBroker({ listeners: [memoryUrl("inproc"), "tcp://127.0.0.1:0"] });
    const [memory, tcp] = broker.urls as [string, string];
    {
      await using client = await connect(memory);
      const sub = client.subscribe("a.*");
      await sub.ready;
      expect(await client.publish("a.b", "x")).toBe(1);
      expect((await sub.receive({ timeoutMs: 5_000 })).text()).toBe("x");
      const counted = await frameCounts(broker);
      expect(counted).not.toMatch(/PUBLISH|SUBSCRIBE|DELIVERY/);
    }
    await using client = await connect(tcp);
    const sub = client.subscribe("a.*");
    await sub.ready;
    expect(await client.publish("a.b", "y")).toBe(1);
    expect((await sub.receive({ timeoutMs: 5_000 })).text()).toBe("y");
    const counted = await frameCounts(broker);
    expect(counted).toMatch(/PUBLISH_REQUEST"\} 1/);
    expect(counted).toMatch(/DELIVERY"\} 1/);
  });

  it("PW-TRANS-012, PW-PUBSUB-023: a body is copied at publish unless `transfer`; transferred, every subscriber in the process gets that very array", async () => {
    await using broker = await startBroker();
    await using client = await connect(broker.urls[0] as string);
    const [one, two] = [client.subscribe("t"), client.subscribe("t")];
    await Promise.all([one.ready, two.ready]);
    const lent = new Uint8Array([1, 2, 3]);
    expect(await client.publish("t", lent)).toBe(2);
    lent[0] = 9; // the publisher reuses its buffer at once
    const given = new Uint8Array([4, 5, 6]);
    expect(await client.publish("t", given, { transfer: true })).toBe(2);
    const [a1, a2] = [await one.receive(), await one.receive()];
    const [b1, b2] = [await two.receive(), await two.receive()];
    expect([...a1.data]).toEqual([1, 2, 3]);
    expect(a1.data).not.toBe(lent);
    expect(a2.data).toBe(given);
    expect(b2.data).toBe(given);
    expect([...b1.data]).toEqual([1, 2, 3]);
  });

  it("PW-TRANS-012, PW-PUBSUB-012, PW-PUBSUB-025: many producers interleaved: each one's messages arrive in order everywhere, a queue group gets each exactly once", { timeout: 30_000 }, async () => {
    await using broker = await startBroker();
    const url = broker.urls[0] as string;
    await using subscriber = await connect(url);
    const producers = await Promise.all([0, 1, 2, 3].map(() => connect(url)));
    try {
      const all = [subscriber.subscribe("p.>"), subscriber.subscribe("p.*")];
      const group = [0, 1, 2].map(() => subscriber.subscribe("p.*", { queue: "g" }));
      await Promise.all([...all, ...group].map((s) => s.ready));
      const perProducer = 500;
      // Interleaved: every producer awaits between its own publishes, so the others' go in between.
      await Promise.all(producers.map(async (p, who) => {
        for (let i = 0; i < perProducer; i++) {
          const routed = await p.publish(`p.${who}`, `${who}:${i}`, i % 2 === 0 ? {} : { ack: false });
          if (routed !== undefined) expect(routed).toBe(3);
        }
      }));
      const total = producers.length * perProducer;
      for (const sub of all) {
        const got = await read(sub, total);
        const next = [0, 0, 0, 0];
        for (const m of got) {
          const [who, i] = m.text().split(":").map(Number) as [number, number];
          expect(i).toBe(next[who]);
          next[who] = i + 1;
        }
        expect(got.map((m) => m.sequence)).toEqual(Array.from({ length: total }, (_, k) => k + 1));
      }
      await until(() => group.reduce((n, s) => n + s.pending, 0) === total, 10_000, "the queue group got every message");
      const seen = new Set<string>();
      for (const s of group) for (const m of await read(s, s.pending)) seen.add(m.text());
      expect(seen.size).toBe(total);
    } finally {
      await Promise.all(producers.map((p) => p.close()));
    }
  });

  it("PW-TRANS-012, PW-PUBSUB-024, PW-PUBSUB-030, PW-PUBSUB-031: a burst in one tick beyond max_pending is dropped newest first at the broker; the gap equals the notices", { timeout: 30_000 }, async () => {
    await using broker = await startBroker();
    await using client = await connect(broker.urls[0] as string);
    const sub = client.subscribe("burst", { maxPending: 10 });
    const events: SlowConsumerEvent[] = [];
    sub.on("slowConsumer", (e) => events.push(e));
    await sub.ready;
    for (let i = 0; i < 1_000; i++) void client.publish("burst", String(i), { ack: false });
    await until(() => sub.dropped === 990, 10_000, "990 drops reported");
    expect(events.every((e) => e.where === "broker")).toBe(true);
    const kept = await read(sub, 10);
    expect(kept.map((m) => m.text())).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(kept.map((m) => m.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await client.publish("burst", "after")).toBe(1);
    const after = await sub.receive({ timeoutMs: 5_000 });
    expect([after.text(), after.sequence]).toEqual(["after", 1_001]);
    expect(sub.missed).toBe(990);
  });

  it("PW-TRANS-012, PW-PUBSUB-001, PW-PUBSUB-003, PW-PUBSUB-016, PW-PUBSUB-020: the broker's typed errors, thrown by the same code as over frames", async () => {
    await using broker = await startBroker({ pubsub: { maxSubscriptions: 2 }, limits: { maxFrameSize: 64 * 1024 } });
    await using client = await connect(broker.urls[0] as string);
    await expect(client.publish("a..b", "x")).rejects.toMatchObject({ code: "INVALID_SUBJECT" });
    await expect(client.publish("$sys", "x")).rejects.toMatchObject({ code: "RESERVED_SUBJECT" });
    await expect(client.publish("ok", "x", { replyTo: "in.*" })).rejects.toMatchObject({ code: "INVALID_SUBJECT" });
    await expect(client.publish("ok", "x", { headers: [["", "v"]] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(client.publish("ok", new Uint8Array(64 * 1024))).rejects.toMatchObject({ code: "FRAME_TOO_LARGE" });
    const subs = [client.subscribe("a"), client.subscribe("b"), client.subscribe("c")];
    await Promise.all(subs.slice(0, 2).map((s) => s.ready));
    await expect(subs[2]?.ready).rejects.toMatchObject({ code: "TOO_MANY_SUBSCRIPTIONS" });
    await expect(subs[2]?.receive()).rejects.toMatchObject({ code: "TOO_MANY_SUBSCRIPTIONS" });
  });

  it("PW-TRANS-012: receive() times out (TIMEOUT), is cancelled (CANCELLED), and after close rejects; a closed client's publish is CONNECTION_LOST", async () => {
    await using broker = await startBroker();
    const client = await connect(broker.urls[0] as string);
    const sub = client.subscribe("q");
    await sub.ready;
    const started = performance.now();
    await expect(sub.receive({ timeoutMs: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    await expect(sub.receive({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "CANCELLED" });
    // A wait given up leaves the subscription readable: the next message is not lost.
    await expect(sub.receive({ timeoutMs: 10 })).rejects.toMatchObject({ code: "TIMEOUT" });
    await client.publish("q", "kept");
    expect((await sub.receive({ timeoutMs: 5_000 })).text()).toBe("kept");
    await sub.close();
    await expect(sub.receive()).rejects.toMatchObject({ code: "CANCELLED" });
    await client.close();
    await expect(client.publish("q", "x")).rejects.toMatchObject({ code: "CONNECTION_LOST" });
  });

  it("PW-TRANS-012: after a reconnect the subscription is made again on the new connection's in-process plane", { timeout: 60_000 }, async () => {
    const url = memoryUrl("again");
    const first = await startBroker({ listeners: [url], drainDeadlineMs: 200 });
    await using client = await connect(url, { reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    const sub = client.subscribe("r.*");
    let resubscribed = 0;
    sub.on("resubscribed", () => resubscribed++);
    await sub.ready;
    expect(await client.publish("r.x", "before")).toBe(1);
    expect((await sub.receive({ timeoutMs: 5_000 })).sequence).toBe(1);
    await first.close();
    await using second = await startBroker({ listeners: [url] });
    await until(() => resubscribed === 1, 30_000, "made again on the new broker");
    expect(await client.publish("r.x", "after")).toBe(1);
    const after = await sub.receive({ timeoutMs: 5_000 });
    expect([after.text(), after.sequence]).toEqual(["after", 1]);
    expect(await frameCounts(second)).not.toMatch(/PUBLISH|SUBSCRIBE|DELIVERY/);
  });

  it("PW-TRANS-012, PW-PUBSUB-015: the offer is taken once per connection, delivers values, and refuses with CONNECTION_LOST once the session is closed", async () => {
    const broker = await startBroker();
    const connection = await Connection.connect(broker.urls[0] as string);
    try {
      const offer = connection.peerService(DIRECT_PUBSUB) as DirectPubSubOffer;
      expect(typeof offer).toBe("function");
      const got: Array<[number, number, string, string]> = [];
      const direct = offer({ deliver: (id, seq, subject, _r, _h, body) => got.push([id, seq, subject, new TextDecoder().decode(body)]), slowConsumer: () => {} });
      expect(() => offer({ deliver: () => {}, slowConsumer: () => {} })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error);
      direct.subscribe(7, "x.>", "", 0);
      expect(() => direct.subscribe(7, "y", "", 0)).toThrow(expect.objectContaining({ code: "SUBSCRIPTION_EXISTS" }) as Error);
      expect(direct.publish("x.1", "", [], new TextEncoder().encode("v"))).toBe(1);
      await until(() => got.length === 1, 5_000, "the delivery");
      expect(got).toEqual([[7, 1, "x.1", "v"]]);
      await broker.close();
      expect(() => direct.publish("x.1", "", [], new Uint8Array(0))).toThrow(expect.objectContaining({ code: "CONNECTION_LOST" }) as Error);
      expect(() => direct.subscribe(8, "x", "", 0)).toThrow(expect.objectContaining({ code: "CONNECTION_LOST" }) as Error);
      expect(connection.peerService(DIRECT_PUBSUB)).toBeUndefined();
    } finally {
      await connection.close();
      await broker.close();
    }
  });
});
