import { fromBinary } from "@bufbuild/protobuf";
import { MetadataRequestSchema } from "@polywire/proto/log";
import { ErrorCode, ErrorSchema, FrameKind, PingSchema } from "@polywire/proto/session";
import { FrameDecoder, init, type Frame } from "@polywire/wasm-codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { Broker } from "../src/index.js";
import { frameOf, helloFrame } from "./helpers.js";

/** A raw WebSocket client: sends messages as given, decodes each received message as one frame. */
async function rawWs(url: string): Promise<{ socket: WebSocket; next(): Promise<Frame>; closed: Promise<number> }> {
  const socket = new WebSocket(url);
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  const decoder = new FrameDecoder();
  socket.on("message", (data: Buffer) => {
    frames.push(...decoder.push(data));
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return {
    socket,
    closed,
    async next() {
      while (frames.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames.shift() as Frame;
    },
  };
}

describe("WebSocket framing (PW-TRANS-003)", () => {
  let broker: Broker;
  let url: string;

  beforeAll(async () => {
    await init();
    broker = await Broker.start({ listeners: ["ws://127.0.0.1:0/pw"], storage: { engine: "memory" }, limits: { maxFrameSize: 65_536 } });
    url = broker.urls[0] as string;
  });

  afterAll(async () => {
    await broker.close();
  });

  it("PW-TRANS-003: each frame travels in one binary message", async () => {
    const client = await rawWs(url);
    client.socket.send(helloFrame());
    expect((await client.next()).kind).toBe(FrameKind.WELCOME);
    client.socket.send(frameOf(FrameKind.METADATA_REQUEST, 3, MetadataRequestSchema, {}));
    expect((await client.next()).correlationId).toBe(3);
    client.socket.close();
  });

  it("PW-TRANS-003: a text message is MALFORMED_FRAME, then close", async () => {
    const client = await rawWs(url);
    client.socket.send(helloFrame());
    await client.next();
    client.socket.send("hello");
    const frame = await client.next();
    expect([frame.kind, frame.correlationId, fromBinary(ErrorSchema, frame.message).code]).toEqual([FrameKind.ERROR, 0, ErrorCode.MALFORMED_FRAME]);
    await client.closed;
  });

  it("PW-TRANS-003: a binary message holding two frames, or half a frame, is MALFORMED_FRAME, then close", async () => {
    for (const bytes of [
      new Uint8Array([...frameOf(FrameKind.METADATA_REQUEST, 3, MetadataRequestSchema, {}), ...frameOf(FrameKind.METADATA_REQUEST, 5, MetadataRequestSchema, {})]),
      frameOf(FrameKind.METADATA_REQUEST, 3, MetadataRequestSchema, {}).subarray(0, 10),
    ]) {
      const client = await rawWs(url);
      client.socket.send(helloFrame());
      await client.next();
      client.socket.send(bytes);
      const frame = await client.next();
      expect([frame.kind, fromBinary(ErrorSchema, frame.message).code]).toEqual([FrameKind.ERROR, ErrorCode.MALFORMED_FRAME]);
      await client.closed;
    }
  });

  it("PW-FRAME-006: a WebSocket message above max_frame_size is refused as its header arrives: FRAME_TOO_LARGE with limit, then close", async () => {
    const client = await rawWs(url);
    client.socket.send(helloFrame());
    await client.next();
    client.socket.send(new Uint8Array(65_537));
    const frame = await client.next();
    const error = fromBinary(ErrorSchema, frame.message);
    expect([frame.kind, frame.correlationId, error.code, error.limit]).toEqual([FrameKind.ERROR, 0, ErrorCode.FRAME_TOO_LARGE, 65_536n]);
    await client.closed;
  });
});

/** Sends `bytes` as fragments of `fragment` bytes of one binary message; the last one ends the message only when `end` is set. */
function sendFragments(socket: WebSocket, bytes: Uint8Array, fragment: number, end = false): void {
  for (let at = 0; at < bytes.byteLength; at += fragment) {
    const last = at + fragment >= bytes.byteLength;
    socket.send(bytes.subarray(at, Math.min(at + fragment, bytes.byteLength)), { binary: true, fin: end && last });
  }
}

/** A Ping frame of exactly `size` bytes: its payload is padding, which the broker does not read. */
function pingOfSize(id: number, size: number): Uint8Array {
  const head = frameOf(FrameKind.PING, id, PingSchema, { nonce: 7n });
  return frameOf(FrameKind.PING, id, PingSchema, { nonce: 7n }, new Uint8Array(size - head.byteLength));
}

describe("WebSocket messages while ws still collects them", () => {
  const BUDGET = 300_000;
  let broker: Broker;
  let url: string;

  beforeAll(async () => {
    await init();
    // The default 16 MiB frame limit, which is also the limit ws itself enforces on a message.
    broker = await Broker.start({ listeners: ["ws://127.0.0.1:0/pw"], storage: { engine: "memory" }, limits: { maxBufferedInboundBytes: BUDGET } });
    url = broker.urls[0] as string;
  });

  afterAll(async () => {
    await broker.close();
  });

  it("PW-FRAME-017: before Welcome, a message whose fragments pass 64 KiB is FRAME_TOO_LARGE (limit 65536) before it ends, not buffered up to 16 MiB", async () => {
    const client = await rawWs(url);
    sendFragments(client.socket, new Uint8Array(80 * 1024), 16 * 1024);
    const frame = await client.next();
    const error = fromBinary(ErrorSchema, frame.message);
    expect([frame.kind, frame.correlationId, error.code, error.limit]).toEqual([FrameKind.ERROR, 0, ErrorCode.FRAME_TOO_LARGE, 65_536n]);
    await client.closed;
  });

  it("PW-FRAME-017: after Welcome a frame above 64 KiB in many fragments is read whole and answered", async () => {
    const client = await rawWs(url);
    client.socket.send(helloFrame());
    expect((await client.next()).kind).toBe(FrameKind.WELCOME);
    sendFragments(client.socket, pingOfSize(3, 100_000), 16 * 1024, true);
    expect([(await client.next()).kind]).toEqual([FrameKind.PONG]);
    client.socket.close();
  });

  it("PW-LIM-006: bytes of messages still arriving count in the inbound budget; over it the connection holding the most gets RESOURCE_EXHAUSTED, the others are served", async () => {
    const [a, b] = await Promise.all([rawWs(url), rawWs(url)]);
    for (const client of [a, b]) {
      client!.socket.send(helloFrame());
      expect((await client!.next()).kind).toBe(FrameKind.WELCOME);
    }
    const ping = pingOfSize(3, 120_000);
    // 200,000 + 90,000 bytes held: within the budget.
    sendFragments(a!.socket, new Uint8Array(200_000), 20_000);
    sendFragments(b!.socket, ping.subarray(0, 90_000), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([a!.socket.readyState, b!.socket.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
    // 20,000 more from B: 310,000 held, and A holds the most.
    sendFragments(b!.socket, ping.subarray(90_000, 110_000), 10_000);
    const frame = await a!.next();
    const error = fromBinary(ErrorSchema, frame.message);
    expect([frame.correlationId, error.code, error.retriable, error.limit]).toEqual([0, ErrorCode.RESOURCE_EXHAUSTED, true, BigInt(BUDGET)]);
    await a!.closed;
    // B ends its message: a whole Ping, answered.
    sendFragments(b!.socket, ping.subarray(110_000), 10_000, true);
    expect((await b!.next()).kind).toBe(FrameKind.PONG);
    b!.socket.close();
  });
});

describe("WebSocket listener start-up", () => {
  it("PW-TRANS-001: a ws:// port already in use fails Broker.start with EADDRINUSE instead of crashing the process", async () => {
    const holder = await Broker.start({ listeners: ["ws://127.0.0.1:0/polywire"], storage: { engine: "memory" } });
    try {
      const taken = holder.urls[0] as string;
      const error = await Broker.start({ listeners: [taken], storage: { engine: "memory" } }).then(async (b) => {
        await b.close();
        return undefined;
      }, (e: unknown) => e as NodeJS.ErrnoException);
      expect(error?.code).toBe("EADDRINUSE");
    } finally {
      await holder.close();
    }
  });
});
