import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Clock, Conn, message, missed, router } from "./harness.js";

describe("unsubscribe (PW-PUBSUB-014)", () => {
  it("PW-PUBSUB-014: after_messages 0 ends it at once: queued deliveries are discarded, none follows, its bytes are released", () => {
    const { router: r } = router();
    const c = new Conn(r);
    c.endpoint.subscribe(1, "a");
    c.endpoint.subscribe(2, "a");
    for (let i = 0; i < 5; i++) r.publish("a", message("a"), 100);
    const bytesBefore = c.endpoint.pendingBytes;
    expect(c.endpoint.unsubscribe(1)).toBeUndefined();
    expect(c.endpoint.pendingBytes).toBe(bytesBefore / 2);
    expect(r.publish("a", message("a"), 100)).toBe(1);
    c.drain();
    expect(c.of(1)).toEqual([]);
    expect(c.of(2).map((d) => d.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.counters.droppedUnsubscribed).toBe(5);
    expect(() => c.endpoint.unsubscribe(1)).toThrowError(expect.objectContaining({ code: "UNKNOWN_SUBSCRIPTION" }));
    // The id is free again.
    c.endpoint.subscribe(1, "b");
  });

  it("PW-PUBSUB-014 PW-PUBSUB-031: unsubscribing reports the last unreported drops, to be sent before the response", () => {
    const clock = new Clock();
    const { router: r } = router(clock);
    const c = new Conn(r);
    c.endpoint.subscribe(1, "a", "", 1);
    r.publish("a", message("a"), 1);
    expect(c.takeNotices()).toEqual([]);
    r.publish("a", message("a"), 1);
    expect(c.takeNotices()).toHaveLength(1);
    r.publish("a", message("a"), 1);
    r.publish("a", message("a"), 1);
    // Inside the notice interval, so not yet due; the unsubscribe brings it forward.
    expect(c.takeNotices()).toEqual([]);
    expect(c.endpoint.unsubscribe(1)).toEqual({ subscriptionId: 1, subject: "a", dropped: 2 });
    expect(c.endpoint.nextNoticeAt()).toBeUndefined();
  });

  it("PW-PUBSUB-014: after_messages n routes exactly n more, drops included, then ends; the id stays taken until its last delivery is written", () => {
    const { router: r } = router();
    const c = new Conn(r);
    const other = new Conn(r);
    other.endpoint.subscribe(1, "a");
    c.endpoint.subscribe(1, "a", "", 2);
    r.publish("a", message("a"), 1);
    expect(c.endpoint.unsubscribe(1, 3)).toBeUndefined();
    // Routed: 1 queued (max_pending 2 then full), 2 dropped; the third ends it.
    expect(r.publish("a", message("a"), 1)).toBe(2);
    expect(r.publish("a", message("a"), 1)).toBe(2);
    expect(r.publish("a", message("a"), 1)).toBe(2);
    expect(r.publish("a", message("a"), 1)).toBe(1);
    const sub = c.endpoint.subscription(1)!;
    expect(sub).toMatchObject({ state: "ending", sequence: 4, dropped: 2 });
    expect(() => c.endpoint.subscribe(1, "b")).toThrowError(expect.objectContaining({ code: "SUBSCRIPTION_EXISTS" }));
    c.drain(1);
    expect(c.endpoint.subscription(1)).toBe(sub);
    c.drain();
    expect(c.received.map((d) => d.sequence)).toEqual([1, 2]);
    expect(c.endpoint.subscription(1)).toBeUndefined();
    expect(sub.state).toBe("ended");
    expect(r.counters.subscriptions).toBe(1);
    c.endpoint.subscribe(1, "b");
  });

  it("PW-PUBSUB-014: a later request replaces the count; an exhausted subscription with nothing queued ends at once", () => {
    const { router: r } = router();
    const c = new Conn(r);
    c.endpoint.subscribe(1, "a");
    c.endpoint.unsubscribe(1, 5);
    r.publish("a", message("a"), 1);
    c.endpoint.unsubscribe(1, 1);
    expect(r.publish("a", message("a"), 1)).toBe(1);
    expect(c.endpoint.subscription(1)?.state).toBe("ending");
    c.drain();
    expect(c.endpoint.subscription(1)).toBeUndefined();
    expect(r.publish("a", message("a"), 1)).toBe(0);
    // Exhausted by a message that is dropped: nothing is queued, so it ends there and then.
    c.endpoint.subscribe(2, "b", "", 1);
    r.publish("b", message("b"), 1);
    c.endpoint.unsubscribe(2, 1);
    r.publish("b", message("b"), 1);
    expect(c.endpoint.subscription(2)?.state).toBe("ending");
    c.drain();
    expect(c.endpoint.subscription(2)).toBeUndefined();
  });

  it("PW-PUBSUB-014 PW-PUBSUB-015: a wake handler that ends subscriptions during a publish stops routing to them at once", () => {
    const { router: r } = router();
    const victims = new Conn(r);
    // Subscribed first, so its wake runs before the victims are routed to.
    const closer = r.endpoint({
      wake: () => {
        victims.endpoint.unsubscribe(2);
        victims.endpoint.close();
      },
    });
    closer.subscribe(1, "a");
    for (let id = 1; id <= 3; id++) victims.endpoint.subscribe(id, "a");
    const bystander = new Conn(r);
    bystander.endpoint.subscribe(1, "a");
    expect(r.publish("a", message("a"), 1)).toBe(2);
    expect(victims.drain()).toBe(0);
    expect(bystander.drain()).toBe(1);
    expect(r.publish("a", message("a"), 1)).toBe(2);
    expect(r.counters.subscriptions).toBe(2);
  });

  it("PW-PUBSUB-014 PW-PUBSUB-024: random subscribe/unsubscribe/publish/drain races keep every count exact", () => {
    type Op =
      | { op: "subscribe"; id: number; max: number }
      | { op: "unsubscribe"; id: number; after: number }
      | { op: "publish" }
      | { op: "drain"; limit: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("subscribe" as const), id: fc.integer({ min: 1, max: 4 }), max: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ op: fc.constant("unsubscribe" as const), id: fc.integer({ min: 1, max: 4 }), after: fc.constantFrom(0, 0, 1, 2, 3) }),
      fc.record({ op: fc.constant("publish" as const) }),
      fc.record({ op: fc.constant("publish" as const) }),
      fc.record({ op: fc.constant("drain" as const), limit: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const { router: r } = router();
      const c = new Conn(r);
      // Per subscription generation: what the model expects.
      interface Gen { id: number; routed: number; left: number; discarded: boolean; end: number; sub: ReturnType<typeof c.endpoint.subscribe>; start: number }
      const gens: Gen[] = [];
      const live = new Map<number, Gen>();
      for (const o of ops) {
        if (o.op === "subscribe") {
          if (c.endpoint.subscription(o.id) !== undefined) {
            expect(() => c.endpoint.subscribe(o.id, "t")).toThrowError(expect.objectContaining({ code: "SUBSCRIPTION_EXISTS" }));
            continue;
          }
          const g: Gen = { id: o.id, routed: 0, left: -1, discarded: false, end: Number.POSITIVE_INFINITY, sub: c.endpoint.subscribe(o.id, "t", "", o.max), start: c.received.length };
          gens.push(g);
          live.set(o.id, g);
        } else if (o.op === "unsubscribe") {
          const g = live.get(o.id);
          if (g === undefined || c.endpoint.subscription(o.id) !== g.sub) {
            expect(() => c.endpoint.unsubscribe(o.id, o.after)).toThrowError(expect.objectContaining({ code: "UNKNOWN_SUBSCRIPTION" }));
            continue;
          }
          c.endpoint.unsubscribe(o.id, o.after);
          if (o.after === 0) {
            g.discarded = true;
            g.end = c.received.length;
            g.left = 0;
            live.delete(o.id);
          } else if (g.sub.state === "active") {
            g.left = o.after;
          }
        } else if (o.op === "publish") {
          const active = [...live.values()].filter((g) => g.left !== 0);
          expect(r.publish("t", message("t"), 1)).toBe(active.length);
          for (const g of active) {
            g.routed++;
            if (g.left > 0) g.left--;
          }
        } else {
          c.drain(o.limit);
        }
        for (const g of gens) expect(g.sub.sequence).toBe(g.routed);
      }
      c.drain();
      for (const [i, g] of gens.entries()) {
        // This generation's deliveries: its id, from its start to the start of the next one with that id.
        const next = gens.slice(i + 1).find((h) => h.id === g.id);
        const window = c.received.slice(g.start, next?.start ?? c.received.length);
        const own = window.filter((d) => d.subscriptionId === g.id);
        if (!g.discarded) {
          expect(own.length + g.sub.dropped).toBe(g.routed);
          expect(missed(own, g.routed)).toBe(g.sub.dropped);
        } else {
          // Nothing of it was written after its UnsubscribeResponse.
          expect(c.received.slice(g.end, next?.start ?? c.received.length).filter((d) => d.subscriptionId === g.id)).toEqual([]);
          expect(own.length + g.sub.dropped).toBeLessThanOrEqual(g.routed);
        }
      }
    }), { numRuns: 400 });
  });
});
