import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QueueGroup } from "../../src/pubsub/queue-group.js";
import { Conn, message, router } from "./harness.js";

describe("queue groups (PW-PUBSUB-012, PW-PUBSUB-013)", () => {
  it("PW-PUBSUB-012: each message reaches exactly one member of each group, under random joins and leaves across connections", () => {
    type Op = { op: "join"; conn: number; group: number } | { op: "leave"; which: number } | { op: "publish" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("join" as const), conn: fc.nat({ max: 3 }), group: fc.nat({ max: 2 }) }),
      fc.record({ op: fc.constant("leave" as const), which: fc.nat() }),
      fc.record({ op: fc.constant("publish" as const) }),
      fc.record({ op: fc.constant("publish" as const) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const { router: r } = router();
      const conns = Array.from({ length: 4 }, () => new Conn(r));
      // One plain subscriber checks that plain subscriptions still get every message.
      const plain = new Conn(r);
      plain.endpoint.subscribe(1, "jobs.*");
      const members: { conn: number; id: number; group: number }[] = [];
      let nextId = 1;
      let published = 0;
      for (const o of ops) {
        if (o.op === "join") {
          const id = nextId++;
          (conns[o.conn] as Conn).endpoint.subscribe(id, "jobs.*", `g${o.group}`);
          members.push({ conn: o.conn, id, group: o.group });
        } else if (o.op === "leave") {
          if (members.length === 0) continue;
          const [m] = members.splice(o.which % members.length, 1);
          (conns[m!.conn] as Conn).endpoint.unsubscribe(m!.id);
        } else {
          const m = message("jobs.x");
          const groups = new Set(members.map((x) => x.group)).size;
          expect(r.publish("jobs.x", m, 10)).toBe(1 + groups);
          published++;
          const got = conns.flatMap((c, i) => {
            c.drain();
            return c.received.filter((d) => d.message === m).map((d) => members.find((x) => x.conn === i && x.id === d.subscriptionId));
          });
          expect(got.every((x) => x !== undefined)).toBe(true);
          expect(got.map((x) => x!.group).sort()).toEqual([...new Set(members.map((x) => x.group))].sort());
        }
      }
      plain.drain();
      expect(plain.received).toHaveLength(published);
    }), { numRuns: 300 });
  });

  it("PW-PUBSUB-012: messages spread evenly, round-robin, including members on the publisher's connection", () => {
    const { router: r } = router();
    const a = new Conn(r);
    const b = new Conn(r);
    a.endpoint.subscribe(1, "w", "q");
    a.endpoint.subscribe(2, "w", "q");
    b.endpoint.subscribe(1, "w", "q");
    for (let i = 0; i < 300; i++) expect(r.publish("w", message("w"), 10)).toBe(1);
    a.drain();
    b.drain();
    expect([a.of(1).length, a.of(2).length, b.of(1).length]).toEqual([100, 100, 100]);
  });

  it("PW-PUBSUB-012: a member at max_pending is skipped while another has room; when all are full exactly one member drops it", () => {
    const { router: r } = router();
    const slow = new Conn(r);
    const fast = new Conn(r);
    slow.endpoint.subscribe(1, "w", "q", 2);
    fast.endpoint.subscribe(1, "w", "q", 2);
    for (let i = 0; i < 50; i++) {
      r.publish("w", message("w"), 10);
      fast.drain();
    }
    const slowSub = slow.endpoint.subscription(1)!;
    const fastSub = fast.endpoint.subscription(1)!;
    expect(slowSub.pending).toBe(2);
    expect(slowSub.dropped + fastSub.dropped).toBe(0);
    expect(fast.received).toHaveLength(48);
    // Both full now: the drop lands on one member, and its sequence shows it.
    r.publish("w", message("w"), 10);
    r.publish("w", message("w"), 10);
    r.publish("w", message("w"), 10);
    expect(slowSub.dropped + fastSub.dropped).toBe(1);
    expect(slowSub.sequence + fastSub.sequence).toBe(53);
    expect(r.counters.routed).toBe(53);
  });

  it("QueueGroup.pick: round-robin over members with room, O(1) leave keeps the rest", () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.nat({ max: 9 }).map((n) => ({ add: n })), fc.nat({ max: 9 }).map((n) => ({ remove: n }))), { maxLength: 60 }), (ops) => {
      const group = new QueueGroup<number>("q");
      const model = new Set<number>();
      for (const o of ops) {
        if ("add" in o) {
          expect(group.add(o.add)).toBe(!model.has(o.add));
          model.add(o.add);
        } else {
          expect(group.remove(o.remove)).toBe(model.delete(o.remove));
        }
        expect([...group.members()].sort()).toEqual([...model].sort());
        // One full round of picks visits every member exactly once.
        const round = Array.from({ length: model.size }, () => group.pick(() => true));
        expect(round.sort()).toEqual([...model].sort());
      }
    }), { numRuns: 300 });
  });
});
