import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_PENDING, DELIVERY_OVERHEAD_BYTES, type PubSubRouter } from "../../src/pubsub/index.js";
import { Conn, message, missed, router, type Message } from "./harness.js";

function publish(r: PubSubRouter<Message>, subject: string, size = 100): number {
  return r.publish(subject, message(subject), size);
}

describe("routing and delivery (§9.2, §9.3)", () => {
  it("PW-PUBSUB-011 PW-PUBSUB-013: a subscription is active when subscribe returns; every match gets one delivery, the publisher's own included", () => {
    const { router: r } = router();
    const publisher = new Conn(r);
    const other = new Conn(r);
    publisher.endpoint.subscribe(1, "orders.*");
    publisher.endpoint.subscribe(2, "orders.>");
    publisher.endpoint.subscribe(3, "orders.eu");
    other.endpoint.subscribe(1, "orders.eu");
    other.endpoint.subscribe(2, "payments.>");
    const m = message("orders.eu");
    expect(r.publish(m.subject, m, 10)).toBe(4);
    publisher.drain();
    other.drain();
    expect(publisher.received.map((d) => d.subscriptionId).sort()).toEqual([1, 2, 3]);
    expect(other.received.map((d) => d.subscriptionId)).toEqual([1]);
    // PW-PUBSUB-023: the message itself, by reference: concrete subject, body unchanged.
    for (const d of [...publisher.received, ...other.received]) expect(d.message).toBe(m);
    expect(publish(r, "inventory.eu")).toBe(0);
    expect(r.counters).toMatchObject({ published: 2, routed: 4, delivered: 4 });
  });

  it("PW-PUBSUB-013: fan-out counts match a direct count, for random subscriptions over random connections", () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: 4 }), fc.constantFrom("a.b", "a.*", "*.b", "a.>", ">", "c.d", "a.b.c")), { maxLength: 40 }),
      fc.array(fc.constantFrom("a.b", "a.c", "c.d", "a.b.c", "x"), { minLength: 1, maxLength: 20 }),
      (subs, subjects) => {
        const { router: r } = router();
        const conns = Array.from({ length: 5 }, () => new Conn(r));
        const ids = [0, 0, 0, 0, 0];
        const patterns: string[][] = [[], [], [], [], []];
        for (const [c, p] of subs) {
          (conns[c] as Conn).endpoint.subscribe(++(ids[c] as number), p);
          (patterns[c] as string[]).push(p);
        }
        const matches = (p: string, s: string): boolean =>
          new RegExp(`^${p.replace(/\./g, "\\.").replace(/\*/g, "[^.]+").replace(/>/g, ".+")}$`).test(s);
        for (const s of subjects) {
          const expected = patterns.flat().filter((p) => matches(p, s)).length;
          expect(publish(r, s)).toBe(expected);
        }
        for (const [c, conn] of conns.entries()) {
          conn.drain();
          for (const [i, p] of (patterns[c] as string[]).entries()) {
            expect(conn.of(i + 1).map((d) => d.message.subject)).toEqual(subjects.filter((s) => matches(p, s)));
          }
        }
      },
    ), { numRuns: 300 });
  });

  it("PW-PUBSUB-025: messages of each publisher reach each subscription in publish order", () => {
    const { router: r } = router();
    const sub = new Conn(r);
    sub.endpoint.subscribe(1, "t.>");
    sub.endpoint.subscribe(2, "t.a");
    for (let i = 0; i < 1000; i++) {
      r.publish("t.a", { subject: "t.a", body: `A${i}` }, 10);
      r.publish("t.b", { subject: "t.b", body: `B${i}` }, 10);
      if (i % 7 === 0) sub.drain(5);
    }
    sub.drain();
    for (const [id, prefix] of [[1, "A"], [1, "B"], [2, "A"]] as const) {
      const bodies = sub.of(id).map((d) => d.message.body).filter((b) => b.startsWith(prefix));
      expect(bodies).toEqual(Array.from({ length: 1000 }, (_, i) => `${prefix}${i}`));
    }
  });

  it("PW-PUBSUB-022: an invalid subject is refused with a typed error and routes nothing", () => {
    const { router: r } = router();
    const c = new Conn(r);
    c.endpoint.subscribe(1, ">");
    expect(() => publish(r, "a..b")).toThrowError(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(() => publish(r, "a.*")).toThrowError(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(() => publish(r, "$sys.x")).toThrowError(expect.objectContaining({ code: "RESERVED_SUBJECT" }));
    expect(() => publish(r, "")).toThrowError(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(c.endpoint.pending).toBe(0);
    expect(r.counters).toMatchObject({ published: 0, routed: 0 });
  });

  it("PW-PUBSUB-010: a zero id is INVALID_ARGUMENT; a duplicate is SUBSCRIPTION_EXISTS and leaves the first unchanged", () => {
    const { router: r } = router();
    const c = new Conn(r);
    expect(() => c.endpoint.subscribe(0, "a")).toThrowError(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    c.endpoint.subscribe(7, "a", "", 3);
    expect(() => c.endpoint.subscribe(7, "b")).toThrowError(expect.objectContaining({ code: "SUBSCRIPTION_EXISTS" }));
    expect(() => c.endpoint.subscribe(7, "b..")).toThrowError(expect.objectContaining({ code: "SUBSCRIPTION_EXISTS" }));
    expect(c.endpoint.subscription(7)).toMatchObject({ pattern: { text: "a" }, maxPending: 3 });
    expect(publish(r, "a")).toBe(1);
    expect(publish(r, "b")).toBe(0);
    // PW-PUBSUB-030: 0 means the default.
    expect(c.endpoint.subscribe(8, "c").maxPending).toBe(DEFAULT_MAX_PENDING);
  });

  it("PW-PUBSUB-016: a connection holds at most its bound of subscriptions; the refusal changes nothing", () => {
    const { router: r } = router();
    const c = new Conn(r, { maxSubscriptions: 3 });
    for (let id = 1; id <= 3; id++) c.endpoint.subscribe(id, "a");
    expect(() => c.endpoint.subscribe(4, "a")).toThrowError(expect.objectContaining({ code: "TOO_MANY_SUBSCRIPTIONS", limit: 3n, retriable: false }));
    expect(c.endpoint.subscriptions).toBe(3);
    expect(publish(r, "a")).toBe(3);
    c.endpoint.unsubscribe(2);
    c.endpoint.subscribe(4, "a");
    expect(r.counters.subscriptions).toBe(3);
  });

  it("PW-PUBSUB-015: closing a connection ends its subscriptions and forgets what it held", () => {
    const { router: r } = router();
    const c = new Conn(r);
    const stays = new Conn(r);
    c.endpoint.subscribe(1, "a");
    c.endpoint.subscribe(2, "a", "q");
    stays.endpoint.subscribe(1, "a");
    expect(publish(r, "a")).toBe(3);
    c.endpoint.close();
    expect(c.endpoint.pending).toBe(0);
    expect(c.endpoint.pendingBytes).toBe(0);
    expect(publish(r, "a")).toBe(1);
    expect(c.drain()).toBe(0);
    expect(r.counters).toMatchObject({ subscriptions: 1, droppedUnsubscribed: 2 });
    expect(r.indexed).toBe(1);
  });

  it("the session is woken when the queue goes from empty to not empty, not per message", () => {
    const { router: r } = router();
    const c = new Conn(r);
    c.endpoint.subscribe(1, "a");
    for (let i = 0; i < 10; i++) publish(r, "a");
    expect(c.wakes).toBe(1);
    c.drain();
    publish(r, "a");
    expect(c.wakes).toBe(2);
  });

  it("PW-PUBSUB-033: a connection's undelivered bytes stay within its budget; the excess is dropped and counted", () => {
    const { router: r } = router();
    const budget = 10 * (100 + DELIVERY_OVERHEAD_BYTES);
    const c = new Conn(r, { maxPendingBytes: budget });
    c.endpoint.subscribe(1, "a");
    c.endpoint.subscribe(2, "a");
    for (let i = 0; i < 30; i++) {
      expect(publish(r, "a", 100)).toBe(2);
      expect(c.endpoint.pendingBytes).toBeLessThanOrEqual(budget);
    }
    expect(c.endpoint.pending).toBe(10);
    expect(r.counters.droppedPendingBytes).toBe(50);
    c.drain();
    expect(missed(c.of(1), 30) + missed(c.of(2), 30)).toBe(50);
    expect(c.endpoint.pendingBytes).toBe(0);
  });
});
