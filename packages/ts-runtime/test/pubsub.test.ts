// The client's pub/sub API against the reference broker over real TCP
// sockets and over memory://, where pub/sub takes the in-process path
// (PW-TRANS-012) with the same behaviour; a fault proxy cuts the TCP
// connection for the reconnect case.
import { describe, expect, it } from "vitest";
import { connect, PolywireError, type Message, type SlowConsumerEvent } from "../src/index.js";
import { FaultProxy } from "./fault-proxy.js";
import { memoryUrl, startBroker, until } from "./harness.js";

const fast = { initialDelayMs: 10, maxDelayMs: 50 };

async function take(iterator: AsyncIterator<Message>, count: number): Promise<Message[]> {
  const got: Message[] = [];
  while (got.length < count) {
    const next = await iterator.next();
    if (next.done === true) break;
    got.push(next.value);
  }
  return got;
}

for (const scheme of ["tcp", "memory"] as const) describe(`client pub/sub over ${scheme}://`, () => {
  const listeners = (): string[] => [scheme === "tcp" ? "tcp://127.0.0.1:0" : memoryUrl("pubsub")];

  it("PW-PUBSUB-013, PW-PUBSUB-021, PW-PUBSUB-023: subscribe, publish with headers, routed counts, for await", async () => {
    await using broker = await startBroker({ listeners: listeners() });
    await using client = await connect(broker.urls[0] as string);
    await using other = await connect(broker.urls[0] as string);
    const all = client.subscribe("orders.>");
    const queued = [other.subscribe("orders.*", { queue: "workers" }), other.subscribe("orders.*", { queue: "workers" })];
    await Promise.all([all.ready, ...queued.map((s) => s.ready)]);
    // One per queue group (PW-PUBSUB-012): three messages, each to `all` and to one worker.
    for (let i = 0; i < 4; i++) expect(await client.publish("orders.eu", `m${i}`, { headers: [["trace", "t1"], ["trace", "t2"]] })).toBe(2);
    expect(await client.publish("nobody.here", "x")).toBe(0);
    const got = await take(all[Symbol.asyncIterator](), 4);
    expect(got.map((m) => [m.subject, m.text(), m.sequence])).toEqual([0, 1, 2, 3].map((i) => ["orders.eu", `m${i}`, i + 1]));
    expect(got[0]?.headers.map(([k, v]) => [k, new TextDecoder().decode(v)])).toEqual([["trace", "t1"], ["trace", "t2"]]);
    expect(got[0]?.header("trace")).toBe("t1");
    const perWorker = queued.map((s) => s.pending);
    expect(perWorker[0]! + perWorker[1]!).toBe(4);
    expect(perWorker).toEqual([2, 2]);
    await all.close();
    expect(await other.publish("orders.eu", "after")).toBe(1);
  });

  it("PW-PUBSUB-001, PW-PUBSUB-002, PW-PUBSUB-003: bad subjects and patterns are typed errors before anything is sent", async () => {
    await using broker = await startBroker({ listeners: listeners() });
    await using client = await connect(broker.urls[0] as string);
    expect(() => client.subscribe("a.>.b")).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }) as Error);
    expect(() => client.subscribe("$sys.*")).toThrow(expect.objectContaining({ code: "RESERVED_SUBJECT" }) as Error);
    await expect(client.publish("a.*", "x")).rejects.toMatchObject({ code: "INVALID_SUBJECT" });
    await expect(client.publish("a..b", "x")).rejects.toBeInstanceOf(PolywireError);
    await expect(client.publish("$x", "x")).rejects.toMatchObject({ code: "RESERVED_SUBJECT" });
    await expect(client.publish("ok", "x", { replyTo: "in.*" })).rejects.toMatchObject({ code: "INVALID_SUBJECT" });
    await expect(client.publish("ok", "x", { headers: [["", "v"]] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("PW-PUBSUB-014: afterMessages ends the loop after that many messages; break and asyncDispose unsubscribe", async () => {
    await using broker = await startBroker({ listeners: listeners() });
    await using client = await connect(broker.urls[0] as string);
    const three = client.subscribe("t", { afterMessages: 3 });
    await three.ready;
    for (let i = 0; i < 5; i++) await client.publish("t", String(i), { ack: false });
    await client.flush();
    const got: string[] = [];
    for await (const m of three) got.push(m.text());
    expect(got).toEqual(["0", "1", "2"]);
    expect(await client.publish("t", "late")).toBe(0);
    {
      await using scoped = client.subscribe("u");
      await scoped.ready;
      expect(await client.publish("u", "x")).toBe(1);
    }
    expect(await client.publish("u", "x")).toBe(0);
    const looped = client.subscribe("v");
    await looped.ready;
    await client.publish("v", "1");
    for await (const _ of looped) break;
    expect(await client.publish("v", "x")).toBe(0);
  });

  it("PW-PUBSUB-030, PW-PUBSUB-031: a loop that does not keep up loses messages, and the loss is reported and counted", { timeout: 60_000 }, async () => {
    await using broker = await startBroker({ listeners: listeners() });
    await using client = await connect(broker.urls[0] as string);
    const sub = client.subscribe("burst", { maxPending: 10 });
    const events: SlowConsumerEvent[] = [];
    sub.on("slowConsumer", (e) => events.push(e));
    await sub.ready;
    for (let i = 0; i < 1_000; i++) void client.publish("burst", "x", { ack: false });
    await client.flush();
    await until(() => sub.pending + sub.dropped >= 1_000, 20_000, "every message buffered or dropped");
    expect(sub.pending).toBe(10);
    expect(events.reduce((n, e) => n + e.dropped, 0)).toBe(sub.dropped);
  });

  // The fault proxy cuts TCP connections.
  it.runIf(scheme === "tcp")("subscriptions are made again after a reconnect; the loop goes on", { timeout: 60_000 }, async () => {
    await using broker = await startBroker({ listeners: listeners() });
    const proxy = await FaultProxy.start(broker.urls[0] as string);
    try {
      await using client = await connect(proxy.url, { reconnect: fast });
      await using publisher = await connect(broker.urls[0] as string);
      const sub = client.subscribe("events.*");
      let resubscribed = 0;
      sub.on("resubscribed", () => resubscribed++);
      await sub.ready;
      const iterator = sub[Symbol.asyncIterator]();
      expect(await publisher.publish("events.a", "before")).toBe(1);
      expect((await take(iterator, 1))[0]?.text()).toBe("before");
      proxy.killAll();
      await until(() => resubscribed === 1, 20_000, "resubscribed");
      expect(await publisher.publish("events.b", "after")).toBe(1);
      const [after] = await take(iterator, 1);
      expect([after?.subject, after?.text(), after?.sequence]).toEqual(["events.b", "after", 1]);
    } finally {
      await proxy.close();
    }
  });
});
