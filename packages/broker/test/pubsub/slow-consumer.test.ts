import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_NOTICE_INTERVAL_MS } from "../../src/pubsub/index.js";
import { Clock, Conn, message, missed, router } from "./harness.js";

describe("slow consumers (§9.4)", () => {
  it("PW-PUBSUB-024 PW-PUBSUB-030 PW-PUBSUB-031: every drop shows as a sequence gap and is reported, exactly, under random publish/drain/time interleavings", () => {
    type Op = { op: "publish"; subject: number } | { op: "drain"; conn: number; limit: number } | { op: "tick"; ms: number } | { op: "notices"; conn: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant("publish" as const), subject: fc.nat({ max: 2 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant("drain" as const), conn: fc.nat({ max: 2 }), limit: fc.integer({ min: 1, max: 8 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 700 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant("notices" as const), conn: fc.nat({ max: 2 }) }) },
    );
    const limits = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 6, maxLength: 6 });
    fc.assert(fc.property(fc.array(op, { maxLength: 300 }), limits, (ops, maxPending) => {
      const clock = new Clock();
      const { router: r } = router(clock);
      const conns = [new Conn(r), new Conn(r), new Conn(r)];
      const patterns = ["s.*", "s.0", ">", "s.1", "s.>", "s.2"];
      const subs = patterns.map((p, i) => (conns[i % 3] as Conn).endpoint.subscribe(i + 1, p, "", maxPending[i]));
      // When each subscription's oldest unreported drop happened, to check the one-second bound.
      const oldestUnreported = new Map<number, number>();
      const takeNotices = (conn: Conn): void => {
        for (const n of conn.takeNotices()) {
          const since = oldestUnreported.get(n.subscriptionId) as number;
          expect(clock.now - since).toBeLessThan(1000);
          oldestUnreported.delete(n.subscriptionId);
          expect(n.subject).toBe(patterns[n.subscriptionId - 1]);
        }
      };
      for (const o of ops) {
        if (o.op === "publish") {
          const before = subs.map((s) => s.dropped);
          r.publish(`s.${o.subject}`, message(`s.${o.subject}`), 10);
          subs.forEach((s, i) => {
            if (s.dropped > (before[i] as number) && !oldestUnreported.has(s.id)) oldestUnreported.set(s.id, clock.now);
          });
        } else if (o.op === "drain") {
          (conns[o.conn] as Conn).drain(o.limit);
        } else if (o.op === "tick") {
          // A session arms a timer for nextNoticeAt and takes the notices when it fires.
          const target = clock.now + o.ms;
          for (;;) {
            const due = Math.min(...conns.map((c) => c.endpoint.nextNoticeAt() ?? Number.POSITIVE_INFINITY));
            if (due > target) break;
            clock.now = Math.max(clock.now, due);
            conns.forEach(takeNotices);
          }
          clock.now = target;
        } else {
          takeNotices(conns[o.conn] as Conn);
        }
        for (const s of subs) expect(s.pending).toBeLessThanOrEqual(s.maxPending);
      }
      clock.now += DEFAULT_NOTICE_INTERVAL_MS;
      conns.forEach((c) => {
        c.drain();
        takeNotices(c);
      });
      for (const [i, s] of subs.entries()) {
        const conn = conns[i % 3] as Conn;
        const gaps = missed(conn.of(s.id), s.sequence);
        expect(gaps).toBe(s.dropped);
        expect(conn.dropsNoticed(s.id)).toBe(s.dropped);
        expect(conn.of(s.id).length + s.dropped).toBe(s.sequence);
      }
      expect(r.counters.droppedMaxPending).toBe(subs.reduce((sum, s) => sum + s.dropped, 0));
    }), { numRuns: 400 });
  });

  it("PW-PUBSUB-030: the newest message is dropped, buffered ones are kept", () => {
    const { router: r } = router();
    const c = new Conn(r);
    c.endpoint.subscribe(1, "a", "", 2);
    for (const body of ["one", "two", "three", "four"]) r.publish("a", { subject: "a", body }, 10);
    c.drain();
    expect(c.received.map((d) => [d.sequence, d.message.body])).toEqual([[1, "one"], [2, "two"]]);
    r.publish("a", { subject: "a", body: "five" }, 10);
    c.drain();
    expect(c.received.at(-1)).toMatchObject({ sequence: 5, message: { body: "five" } });
  });

  it("PW-PUBSUB-031: the first drop after a quiet spell is due at once, later ones within the notice interval, never a second notice inside it", () => {
    const clock = new Clock();
    const { router: r } = router(clock);
    const c = new Conn(r);
    c.endpoint.subscribe(1, "a.*", "", 1);
    r.publish("a.b", message("a.b"), 1);
    expect(c.endpoint.nextNoticeAt()).toBeUndefined();
    clock.now = 1000;
    r.publish("a.b", message("a.b"), 1);
    expect(c.wakes).toBe(2);
    expect(c.endpoint.nextNoticeAt()).toBe(1000);
    expect(c.takeNotices()).toEqual([{ subscriptionId: 1, subject: "a.*", dropped: 1 }]);
    clock.now = 1100;
    r.publish("a.b", message("a.b"), 1);
    r.publish("a.c", message("a.c"), 1);
    expect(c.endpoint.nextNoticeAt()).toBe(1000 + DEFAULT_NOTICE_INTERVAL_MS);
    clock.now = 1000 + DEFAULT_NOTICE_INTERVAL_MS - 1;
    expect(c.takeNotices()).toEqual([]);
    clock.now = 1000 + DEFAULT_NOTICE_INTERVAL_MS;
    expect(c.takeNotices()).toEqual([{ subscriptionId: 1, subject: "a.*", dropped: 2 }]);
    expect(c.endpoint.nextNoticeAt()).toBeUndefined();
    expect(r.counters.notices).toBe(2);
  });

  it("PW-PUBSUB-031: without FEATURE_SLOW_CONSUMER_NOTICE drops are still counted and sequenced, but no notice is owed", () => {
    const { router: r } = router();
    const c = new Conn(r, { notices: false });
    c.endpoint.subscribe(1, "a", "", 1);
    for (let i = 0; i < 5; i++) r.publish("a", message("a"), 1);
    expect(c.wakes).toBe(1);
    expect(c.endpoint.nextNoticeAt()).toBeUndefined();
    expect(c.takeNotices()).toEqual([]);
    c.drain();
    r.publish("a", message("a"), 1);
    c.drain();
    expect(c.received.map((d) => d.sequence)).toEqual([1, 6]);
    expect(r.counters.droppedMaxPending).toBe(4);
  });

  it("PW-PUBSUB-032: a subscriber that never reads costs the publisher and the other subscribers nothing", () => {
    const { router: r } = router();
    const slow = new Conn(r);
    const fast = new Conn(r);
    slow.endpoint.subscribe(1, "load", "", 100);
    fast.endpoint.subscribe(1, "load", "", 100);
    let routed = 0;
    for (let i = 0; i < 100_000; i++) {
      routed += r.publish("load", message("load", "x"), 64);
      if (i % 50 === 49) fast.drain();
    }
    expect(routed).toBe(200_000);
    fast.drain();
    expect(fast.received).toHaveLength(100_000);
    expect(fast.received.at(-1)?.sequence).toBe(100_000);
    expect(slow.endpoint.pending).toBe(100);
    expect(slow.endpoint.subscription(1)?.dropped).toBe(99_900);
  });
});
