// The worker:// transport's stream rules (PW-TRANS-013) on one
// MessageChannel: order, flow control, the bound on unread bytes, and
// close. Threads, the broker and the client are in
// packages/ts-runtime/test/worker-transport.test.ts.
import { describe, expect, it } from "vitest";
import { WorkerTransport, type WorkerPort } from "../src/transport/worker.js";
import type { TransportHandlers } from "../src/transport/transport.js";
import { PubSubRecords, RecordWriter, RemotePubSub, type RecordLink } from "../src/transport/worker-pubsub.js";
import { PolywireError } from "../src/errors.js";
import { DIRECT_PUBSUB, type DirectPubSub, type DirectPubSubOffer, type DirectPubSubReceiver } from "../src/protocol/direct-pubsub.js";

function pair(maxQueuedBytes?: number): [WorkerTransport, WorkerTransport] {
  const { port1, port2 } = new MessageChannel();
  return [new WorkerTransport(port1 as unknown as WorkerPort, "a"), new WorkerTransport(port2 as unknown as WorkerPort, "b", maxQueuedBytes)];
}

interface Seen { data: Uint8Array[]; drains: number; closed: Promise<Error | undefined> }

function watch(t: WorkerTransport): Seen {
  const seen = { data: [] as Uint8Array[], drains: 0 } as Seen & { data: Uint8Array[] };
  seen.closed = new Promise((resolve) => {
    const handlers: TransportHandlers = {
      onData: (chunk) => seen.data.push(chunk),
      onDrain: () => seen.drains++,
      onInvalid: () => undefined,
      onClose: (error) => resolve(error),
    };
    t.attach(handlers);
  });
  return seen;
}

const bytes = (seen: Seen): number[] => seen.data.flatMap((c) => [...c]);
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe("worker:// transport", () => {
  it("PW-TRANS-002, PW-TRANS-013: writes of one tick arrive as one ordered byte stream, the writer's buffers moved not copied when whole", async () => {
    const [a, b] = pair();
    const got = watch(b);
    watch(a);
    const whole = new Uint8Array([1, 2, 3]);
    a.write(whole);
    expect(whole.byteLength).toBe(3);
    await settle();
    // Transferred: the writer's array is detached.
    expect(whole.byteLength).toBe(0);
    a.writev([new Uint8Array([4, 5]), new Uint8Array([6])]);
    a.write(new Uint8Array([7, 8, 9]).subarray(1));
    await settle();
    expect(bytes(got)).toEqual([1, 2, 3, 4, 5, 6, 8, 9]);
    expect(got.data.length).toBe(2);
  });

  it("PW-TRANS-013: write asks the writer to wait above 1 MiB unread, and onDrain follows once the reader has consumed", async () => {
    const [a, b] = pair();
    const writer = watch(a);
    b.pause();
    const reader = watch(b);
    let ok = true;
    let written = 0;
    while (ok) {
      ok = a.write(new Uint8Array(64 * 1024));
      written += 64 * 1024;
    }
    expect(written).toBe(1 << 20);
    await settle();
    expect(writer.drains).toBe(0);
    b.resume();
    await settle();
    expect(reader.data.reduce((n, c) => n + c.byteLength, 0)).toBe(written);
    expect(writer.drains).toBe(1);
  });

  it("PW-TRANS-013: a reader refuses to hold more than its bound unread: RESOURCE_EXHAUSTED here, CONNECTION_LOST at the writer", async () => {
    const [a, b] = pair(256 * 1024);
    const writer = watch(a);
    b.pause();
    const reader = watch(b);
    for (let i = 0; i < 8; i++) {
      a.write(new Uint8Array(64 * 1024));
      await settle();
    }
    expect(await reader.closed).toMatchObject({ code: "RESOURCE_EXHAUSTED", limit: 256n * 1024n });
    expect(await writer.closed).toMatchObject({ code: "CONNECTION_LOST" });
    expect(a.write(new Uint8Array(1))).toBe(false);
  });

  it("PW-TRANS-013: end() delivers what was written, then both ends close cleanly; destroy() is a reset for the peer", async () => {
    const [a, b] = pair();
    const aSeen = watch(a);
    const bSeen = watch(b);
    a.write(new Uint8Array([1]));
    a.end();
    expect(a.closed).toBe(true);
    expect(await bSeen.closed).toBeUndefined();
    expect(await aSeen.closed).toBeUndefined();
    expect(bytes(bSeen)).toEqual([1]);
    const [c, d] = pair();
    const cSeen = watch(c);
    const dSeen = watch(d);
    d.destroy(new Error("gone"));
    expect(await dSeen.closed).toMatchObject({ message: "gone" });
    expect(await cSeen.closed).toMatchObject({ code: "CONNECTION_LOST" });
  });
});

describe("pub/sub records between threads (PW-TRANS-012 over worker://)", () => {
  // Two ends wired back to back, each tick's records handed to the other side.
  function wire(offer: DirectPubSubOffer, receiver: DirectPubSubReceiver): RemotePubSub {
    let broker: PubSubRecords | undefined;
    let client: RemotePubSub | undefined;
    const link = (deliver: (bytes: Uint8Array) => void): RecordLink => {
      const records = new RecordWriter();
      let scheduled = false;
      return {
        records,
        flushSoon: () => {
          if (scheduled) return;
          scheduled = true;
          queueMicrotask(() => {
            scheduled = false;
            if (records.length > 0) deliver(records.take());
          });
        },
      };
    };
    broker = new PubSubRecords(link((bytes) => client?.receive(bytes)), offer);
    client = new RemotePubSub(link((bytes) => broker?.receive(bytes)), receiver);
    return client;
  }

  it("PW-TRANS-012, PW-TRANS-014, PW-PUBSUB-020, PW-PUBSUB-023: calls, answers, errors with their limit, and deliveries cross intact, text and headers in any script", async () => {
    const calls: unknown[] = [];
    const delivered: unknown[] = [];
    let receiver: DirectPubSubReceiver | undefined;
    const plane: DirectPubSub = {
      byReference: true,
      subscribe: (id, pattern, queue, max) => {
        if (pattern === "full") throw new PolywireError("TOO_MANY_SUBSCRIPTIONS", "no more", { limit: 3 });
        calls.push(["sub", id, pattern, queue, max]);
      },
      unsubscribe: (id, after) => void calls.push(["unsub", id, after]),
      publish: (subject, replyTo, headers, body) => {
        calls.push(["pub", subject, replyTo, headers.map(([k, v]) => [k, [...v]]), [...body]]);
        receiver?.deliver(7, 2 ** 40, subject, replyTo, headers, body);
        receiver?.slowConsumer(7, 3);
        return 2;
      },
    };
    const remote = wire((r) => {
      receiver = r;
      return plane;
    }, {
      deliver: (id, seq, subject, replyTo, headers, body) => delivered.push([id, seq, subject, replyTo, headers.map(([k, v]) => [k, [...v]]), [...body]]),
      slowConsumer: (id, dropped) => delivered.push(["slow", id, dropped]),
    });
    await remote.subscribe(5, "ä.*", "gruppe", 10);
    await expect(remote.subscribe(6, "full", "", 0)).rejects.toMatchObject({ code: "TOO_MANY_SUBSCRIPTIONS", message: expect.stringContaining("no more") as string, limit: 3n });
    expect(await remote.publish("ä.ö", "zurück", [["schlüssel", new Uint8Array([1])], ["k", new Uint8Array(0)]], new Uint8Array([9, 8]))).toBe(2);
    expect(remote.publish("x", "", [], new Uint8Array(0), false)).toBeUndefined();
    await remote.unsubscribe(5, 4);
    await remote.flush();
    expect(calls).toEqual([
      ["sub", 5, "ä.*", "gruppe", 10],
      ["pub", "ä.ö", "zurück", [["schlüssel", [1]], ["k", []]], [9, 8]],
      ["pub", "x", "", [], []],
      ["unsub", 5, 4],
    ]);
    expect(delivered.slice(0, 2)).toEqual([[7, 2 ** 40, "ä.ö", "zurück", [["schlüssel", [1]], ["k", []]], [9, 8]], ["slow", 7, 3]]);
    expect(() => remote.publish("a.*", "", [], new Uint8Array(0), false)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }) as Error);
    remote.close(new PolywireError("CONNECTION_LOST", "gone"));
    await expect(remote.flush()).rejects.toMatchObject({ code: "CONNECTION_LOST" });
  });

  it("PW-TRANS-014: a record cut short is MALFORMED_FRAME", () => {
    const remote = new RemotePubSub({ records: new RecordWriter(), flushSoon: () => undefined }, { deliver: () => undefined, slowConsumer: () => undefined });
    const cut = new RecordWriter().u8(8).u32(1).f64(1).str("subject").take().subarray(0, 10);
    expect(() => remote.receive(cut)).toThrow(expect.objectContaining({ code: "MALFORMED_FRAME" }) as Error);
  });
});

describe("worker:// pub/sub records, full", () => {
  it("PW-TRANS-013, PW-TRANS-012: a publisher the broker's thread does not keep up with gets RESOURCE_EXHAUSTED, and the connection stays", async () => {
    const { port1, port2 } = new MessageChannel();
    const client = new WorkerTransport(port1 as unknown as WorkerPort, "a", 64 * 1024);
    watch(client);
    // The listener's answer, by hand; then nobody reads the other end.
    port2.postMessage(-4);
    await settle();
    const offer = client.peerService(DIRECT_PUBSUB) as DirectPubSubOffer;
    const remote = offer({ deliver: () => undefined, slowConsumer: () => undefined });
    const body = new Uint8Array(1024);
    let refused: unknown;
    for (let i = 0; i < 200 && refused === undefined; i++) {
      try {
        remote.publish("s", "", [], body, false);
      } catch (error) {
        refused = error;
      }
      if (i % 10 === 0) await settle();
    }
    expect(refused).toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    expect(client.closed).toBe(false);
    port2.close();
  });
});
