import { fromBinary } from "@bufbuild/protobuf";
import { MetadataRequestSchema } from "@polywire/proto/log";
import { ErrorCode, ErrorSchema, FrameKind } from "@polywire/proto/session";
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

  it("PW-FRAME-006: a WebSocket message above max_frame_size is refused by the WebSocket layer (close 1009) before it is buffered", async () => {
    const client = await rawWs(url);
    client.socket.send(helloFrame());
    await client.next();
    client.socket.send(new Uint8Array(65_537));
    expect(await client.closed).toBe(1009);
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
