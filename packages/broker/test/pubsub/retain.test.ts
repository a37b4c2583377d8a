import { describe, expect, it } from "vitest";
import { PubSubRouter } from "../../src/pubsub/index.js";
import { Conn, message, type Message } from "./harness.js";

// The plane routes bodies that are views into the read they arrived in and
// copies one only when it is to stay queued (PW-PUBSUB-033: the byte budget
// counts the body, so what a slow reader holds must be the body alone).
describe("retaining queued messages (PW-PUBSUB-033)", () => {
  function setup(): { r: PubSubRouter<Message>; conn: Conn; retained: Message[] } {
    const retained: Message[] = [];
    const r = new PubSubRouter<Message>({ retain: (m) => void retained.push(m) });
    const conn = new Conn(r);
    conn.endpoint.subscribe(1, "a.>");
    return { r, conn, retained };
  }

  it("PW-PUBSUB-033: deliveries written in the flush after their routing are never retained", () => {
    const { r, conn, retained } = setup();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) r.publish("a.b", message("a.b"), 10);
      conn.drain();
      conn.endpoint.settle();
    }
    expect(conn.received).toHaveLength(15);
    expect(retained).toEqual([]);
  });

  it("PW-PUBSUB-033: what a flush leaves queued is retained once, then every delivery queued while some wait, until the queue was drained empty", () => {
    const { r, conn, retained } = setup();
    const first = Array.from({ length: 6 }, () => message("a.b"));
    for (const m of first) r.publish("a.b", m, 10);
    // The transport took two, then pushed back.
    conn.drain(2);
    conn.endpoint.settle();
    expect(retained).toEqual(first.slice(2));
    // A settle with nothing new queued retains nothing again.
    conn.endpoint.settle();
    expect(retained).toEqual(first.slice(2));
    // Routed while the connection waits for its transport: retained at once.
    const late = message("a.b");
    r.publish("a.b", late, 10);
    expect(retained).toEqual([...first.slice(2), late]);
    // Drained empty: back to borrowing.
    conn.drain();
    conn.endpoint.settle();
    const after = message("a.b");
    r.publish("a.b", after, 10);
    expect(retained).not.toContain(after);
    conn.drain();
    conn.endpoint.settle();
    expect(conn.received.map((d) => d.message)).toEqual([...first, late, after]);
  });

  it("PW-PUBSUB-033: a message routed to several connections is retained for the one that keeps it", () => {
    const { r, conn, retained } = setup();
    const slow = new Conn(r);
    slow.endpoint.subscribe(7, "a.b");
    const m = message("a.b");
    expect(r.publish("a.b", m, 10)).toBe(2);
    conn.drain();
    conn.endpoint.settle();
    expect(retained).toEqual([]);
    slow.endpoint.settle();
    expect(retained).toEqual([m]);
  });
});
