// The worker:// transport's stream rules (PW-TRANS-013) on one
// MessageChannel: order, flow control, the bound on unread bytes, and
// close. Threads, the broker and the client are in
// packages/ts-runtime/test/worker-transport.test.ts.
import { describe, expect, it } from "vitest";
import { WorkerTransport, type WorkerPort } from "../src/transport/worker.js";
import type { TransportHandlers } from "../src/transport/transport.js";

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
