import { createServer, type AddressInfo, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { dial, listenMemory, PolywireError, SocketTransport, type Transport } from "../src/index.js";

interface Collected {
  data: Uint8Array[];
  drains: number;
  closed: Promise<Error | undefined>;
  /** Resolves once at least `bytes` bytes have arrived. */
  received(bytes: number): Promise<void>;
}

function collect(transport: Transport): Collected {
  let waiters: Array<() => void> = [];
  const total = (): number => state.data.reduce((n, c) => n + c.byteLength, 0);
  const state: Collected = {
    data: [],
    drains: 0,
    closed: undefined as unknown as Promise<Error | undefined>,
    received: async (bytes) => {
      while (total() < bytes) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
  state.closed = new Promise((resolve) => {
    transport.attach({
      onData: (chunk) => {
        state.data.push(chunk);
        const w = waiters;
        waiters = [];
        for (const resolve of w) resolve();
      },
      onDrain: () => state.drains++,
      onInvalid: () => {},
      onClose: resolve,
    });
  });
  return state;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

describe("memory transport", () => {
  const names: string[] = [];
  afterEach(() => names.splice(0));

  it("PW-TRANS-002: delivers an ordered byte stream both ways and closes both ends", async () => {
    let server: Transport | undefined;
    const listener = listenMemory("t-order", (t) => {
      server = t;
    });
    try {
      const client = await dial("memory://t-order");
      expect(client.scheme).toBe("memory");
      const serverSide = collect(server as Transport);
      const clientSide = collect(client);
      for (let i = 0; i < 100; i++) client.write(Uint8Array.of(i));
      (server as Transport).write(Uint8Array.of(200, 201));
      await new Promise((r) => setImmediate(r));
      expect([...concat(serverSide.data)]).toEqual([...Array(100).keys()]);
      expect([...concat(clientSide.data)]).toEqual([200, 201]);
      client.end();
      expect(await serverSide.closed).toBeUndefined();
      expect(await clientSide.closed).toBeUndefined();
      expect(client.write(Uint8Array.of(1))).toBe(false);
    } finally {
      listener.close();
    }
  });

  it("PW-TRANS-002: write reports backpressure and drain follows once the reader catches up", async () => {
    let server: Transport | undefined;
    const listener = listenMemory("t-backpressure", (t) => {
      server = t;
    });
    try {
      const client = await dial("memory://t-backpressure");
      const serverSide = collect(server as Transport);
      const clientSide = collect(client);
      (server as Transport).pause();
      const chunk = new Uint8Array(64 * 1024);
      let accepted = 0;
      while (client.write(chunk)) accepted++;
      expect(accepted).toBeLessThan(32);
      await new Promise((r) => setImmediate(r));
      expect(serverSide.data.length).toBe(0);
      (server as Transport).resume();
      await new Promise((r) => setImmediate(r));
      expect(serverSide.data.length).toBe(accepted + 1);
      expect(clientSide.drains).toBe(1);
      client.destroy();
      expect(await serverSide.closed).toBeInstanceOf(Error);
    } finally {
      listener.close();
    }
  });

  it("PW-TRANS-001: dialing a name nobody listens on fails with CONNECTION_LOST; a taken name is refused", async () => {
    await expect(dial("memory://nobody-here")).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    const listener = listenMemory("t-taken", () => {});
    try {
      expect(() => listenMemory("t-taken", () => {})).toThrow(PolywireError);
    } finally {
      listener.close();
    }
    const again = listenMemory("t-taken", () => {});
    again.close();
  });
});

describe("socket transports", () => {
  let server: Server | undefined;
  const extra: Server[] = [];
  afterEach(async () => {
    for (const s of extra.splice(0)) s.close();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  });

  it("PW-TRANS-002: tcp:// carries bytes through SocketTransport on both ends", async () => {
    const accepted = new Promise<Transport>((resolve) => {
      server = createServer({ pauseOnConnect: true }, (socket) => resolve(new SocketTransport(socket, "tcp")));
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server?.address() as AddressInfo).port;
    const client = await dial(`tcp://127.0.0.1:${port}`);
    const serverEnd = await accepted;
    const serverSide = collect(serverEnd);
    const clientSide = collect(client);
    const payload = new Uint8Array(300_000).map((_, i) => i % 251);
    client.write(payload);
    await serverSide.received(payload.byteLength);
    expect(Buffer.compare(concat(serverSide.data), payload)).toBe(0);
    serverEnd.write(Uint8Array.of(9, 8, 7));
    await clientSide.received(3);
    client.end();
    expect(await clientSide.closed).toBeUndefined();
    expect(await serverSide.closed).toBeUndefined();
  });

  async function socketPair(): Promise<{ client: Transport; serverEnd: Transport }> {
    let listening: Server | undefined;
    const accepted = new Promise<Transport>((resolve) => {
      listening = createServer({ pauseOnConnect: true }, (socket) => resolve(new SocketTransport(socket, "tcp")));
    });
    if (server !== undefined) extra.push(server);
    server = listening;
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server?.address() as AddressInfo).port;
    const client = await dial(`tcp://127.0.0.1:${port}`);
    return { client, serverEnd: await accepted };
  }

  it("PW-TRANS-002: the writes of one tick (short ones copied, long ones kept, bytes reserved in place) arrive as one ordered stream, and end() sends them before closing", async () => {
    const { client, serverEnd } = await socketPair();
    const serverSide = collect(serverEnd);
    collect(client);
    const expected: number[] = [];
    const long = new Uint8Array(5000).map((_, i) => i % 253);
    for (let i = 0; i < 50; i++) {
      const small = new Uint8Array(1 + (i % 7)).fill(i);
      client.write(small);
      expected.push(...small);
      if (i % 10 === 3) {
        client.writev([Uint8Array.of(1, 2, 3), long, Uint8Array.of(i)]);
        expected.push(1, 2, 3, ...long, i);
      }
      const staged = client.staged;
      if (staged === undefined) throw new Error("a TCP socket offers its output");
      const at = staged.reserve(3);
      staged.bytes.set([250, 251, i], at);
      staged.commit();
      expected.push(250, 251, i);
    }
    // Nothing has left yet: end() must send it all first.
    client.end();
    expect(client.staged).toBeUndefined();
    expect(await serverSide.closed).toBeUndefined();
    expect(Buffer.compare(concat(serverSide.data), Uint8Array.from(expected))).toBe(0);
  });

  it("PW-TRANS-002: sockets writing in turn in one tick, past the size of the buffer their small writes share, each send exactly their own bytes in order", async () => {
    const a = await socketPair();
    const b = await socketPair();
    const toA = collect(a.serverEnd);
    const toB = collect(b.serverEnd);
    collect(a.client);
    collect(b.client);
    const expected = { a: [] as number[], b: [] as number[] };
    // The first socket fills the shared buffer to its last write, the second writes at once after.
    for (let i = 0; i < 66; i++) a.client.write(new Uint8Array(1000).fill(0xaa));
    for (let k = 0; k < 66_000; k++) expected.a.push(0xaa);
    b.client.write(new Uint8Array(10).fill(0xbb));
    for (let k = 0; k < 10; k++) expected.b.push(0xbb);
    // Uneven small writes, each socket's own byte, the turn changing now and then, 300 KiB in all.
    for (let i = 0, turn = 0; i < 3000; i++) {
      if (i % 97 === 0) turn ^= 1;
      const [client, list, fill] = turn === 0 ? [a.client, expected.a, 0xaa] : [b.client, expected.b, 0xbb];
      const n = 1 + ((i * 37) % 200);
      client.write(new Uint8Array(n).fill(fill));
      for (let k = 0; k < n; k++) list.push(fill);
    }
    await toA.received(expected.a.length);
    await toB.received(expected.b.length);
    expect(Buffer.compare(concat(toA.data), Uint8Array.from(expected.a))).toBe(0);
    expect(Buffer.compare(concat(toB.data), Uint8Array.from(expected.b))).toBe(0);
    a.client.destroy();
    b.client.destroy();
  });

  it("PW-TRANS-002: a socket's write answers false once one tick wrote 256 KiB, or once the socket's own queue is at its high-water mark while the reader does not read; drain follows each time", async () => {
    const { client, serverEnd } = await socketPair();
    const serverSide = collect(serverEnd);
    const clientSide = collect(client);
    serverEnd.pause();
    const frame = new Uint8Array(100).fill(7);
    let sent = 0;
    let accepted = 0;
    while (client.write(frame)) accepted++;
    sent += (accepted + 1) * frame.byteLength;
    expect(sent).toBeGreaterThanOrEqual(256 * 1024);
    expect(accepted * frame.byteLength).toBeLessThan(256 * 1024);
    while (clientSide.drains === 0) await new Promise((r) => setImmediate(r));
    // Tick after tick, until the kernel's buffers are full and the socket queues: then a write is refused at once.
    const chunk = new Uint8Array(64 * 1024).fill(7);
    let refusedAt = -1;
    for (let tick = 0; tick < 2000 && refusedAt < 0; tick++) {
      const drains = clientSide.drains;
      const ok = client.write(chunk);
      sent += chunk.byteLength;
      if (!ok) refusedAt = sent;
      else await new Promise((r) => setImmediate(r));
      expect(clientSide.drains).toBe(drains);
    }
    expect(refusedAt).toBeGreaterThan(0);
    expect(client.write(frame)).toBe(false);
    sent += frame.byteLength;
    serverEnd.resume();
    await serverSide.received(sent);
    while (clientSide.drains < 2) await new Promise((r) => setImmediate(r));
    expect(clientSide.drains).toBe(2);
    expect(concat(serverSide.data).every((b) => b === 7)).toBe(true);
    client.destroy();
    expect(client.staged).toBeUndefined();
    expect(client.write(frame)).toBe(false);
  });

  it("PW-TRANS-001: a refused TCP connection fails with CONNECTION_LOST, an aborted dial with CANCELLED", async () => {
    server = createServer();
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    await expect(dial(`tcp://127.0.0.1:${port}`)).rejects.toMatchObject({ code: "CONNECTION_LOST" });
    await expect(dial(`tcp://127.0.0.1:${port}`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "CANCELLED" });
  });
});
