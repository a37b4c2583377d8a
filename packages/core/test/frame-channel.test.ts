import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ErrorSchema, FrameKind, PingSchema, PongSchema } from "@polywire/proto/session";
import { FLAG_CHECKSUM, init, type Frame } from "@polywire/wasm-codec";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createServer, type AddressInfo } from "node:net";
import { dial, FrameChannel, listenMemory, PolywireError, SocketTransport, type MessageEncoder, type Transport } from "../src/index.js";

interface End {
  readonly channel: FrameChannel;
  readonly frames: Frame[];
  readonly broken: PolywireError[];
  readonly written: Array<{ kind: number; accepted: boolean }>;
  /** Resolves once `count` frames have arrived. */
  received(count: number): Promise<void>;
}

function end(transport: Transport, maxFrameSize = 1 << 20): End {
  const frames: Frame[] = [];
  const broken: PolywireError[] = [];
  const written: Array<{ kind: number; accepted: boolean }> = [];
  let waiters: Array<() => void> = [];
  const channel = new FrameChannel(transport, {
    onFrame: (frame) => {
      frames.push(frame);
      for (const resolve of waiters.splice(0)) resolve();
    },
    onBroken: (error) => {
      broken.push(error);
      for (const resolve of waiters.splice(0)) resolve();
    },
    afterWrite: (kind, accepted) => written.push({ kind, accepted }),
    onClose: () => {},
  }, { maxFrameSize });
  channel.start();
  return {
    channel, frames, broken, written,
    received: async (count) => {
      while (frames.length < count && broken.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

let names = 0;
async function pair(maxFrameSize?: number): Promise<{ client: End; server: End; close(): void }> {
  let accepted: Transport | undefined;
  const listener = listenMemory(`channel-${++names}`, (t) => {
    accepted = t;
  });
  const client = end(await dial(listener.url), maxFrameSize);
  const server = end(accepted as Transport, maxFrameSize);
  return {
    client, server, close: () => {
      listener.close();
      client.channel.transport.destroy();
    },
  };
}

// Two channels over a real TCP connection, whose transport gathers writes (Transport.staged).
async function tcpPair(): Promise<{ client: End; server: End; close(): void }> {
  let accepted!: (t: Transport) => void;
  const serverSide = new Promise<Transport>((resolve) => (accepted = resolve));
  const server = createServer({ pauseOnConnect: true }, (socket) => accepted(new SocketTransport(socket, "tcp")));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = end(await dial(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`));
  const serverEnd = end(await serverSide);
  return {
    client, server: serverEnd, close: () => {
      client.channel.transport.destroy();
      server.close();
    },
  };
}

describe("FrameChannel", () => {
  let opened: Array<{ close(): void }> = [];
  beforeAll(() => init());
  afterEach(() => {
    for (const p of opened) p.close();
    opened = [];
  });

  it("PW-FRAME-001: a payload given as chunks arrives as one frame with the chunks laid end to end, with and without CHECKSUM", async () => {
    const p = await pair();
    opened.push(p);
    const chunks = [new Uint8Array(3000).fill(1), new Uint8Array(10).fill(2), new Uint8Array(5000).fill(3)];
    const message = Uint8Array.of(8, 1);
    p.client.channel.write(FrameKind.FETCH_RESPONSE, 7, message, chunks);
    p.client.channel.checksum = true;
    p.client.channel.write(FrameKind.FETCH_RESPONSE, 9, message, chunks);
    p.client.channel.checksum = false;
    p.client.channel.write(FrameKind.FETCH_RESPONSE, 11, message, [Uint8Array.of(4), Uint8Array.of(5)]);
    await p.server.received(3);
    const whole = new Uint8Array(Buffer.concat(chunks));
    const [plain, checked, small] = p.server.frames;
    expect([plain?.correlationId, plain?.flags, [...(plain?.message ?? [])]]).toEqual([7, 0, [8, 1]]);
    expect(Buffer.compare(plain?.payload ?? new Uint8Array(), whole)).toBe(0);
    expect([checked?.correlationId, (checked?.flags ?? 0) & FLAG_CHECKSUM]).toEqual([9, FLAG_CHECKSUM]);
    expect(Buffer.compare(checked?.payload ?? new Uint8Array(), whole)).toBe(0);
    expect([...(small?.payload ?? [])]).toEqual([4, 5]);
    expect(p.client.written.map((w) => w.kind)).toEqual([FrameKind.FETCH_RESPONSE, FrameKind.FETCH_RESPONSE, FrameKind.FETCH_RESPONSE]);
  });

  it("PW-FRAME-001: a message given as a MessageEncoder arrives as the bytes it encodes, in order with frames of bytes, over TCP (encoded in place) and memory, with and without CHECKSUM", async () => {
    for (const p of [await tcpPair(), await pair()]) {
      opened.push(p);
      const encoder = (n: number): MessageEncoder => ({ size: n, encodeInto: (out, at) => out.fill(n, at, at + n) });
      p.client.channel.write(FrameKind.DELIVERY, 0, encoder(3), Uint8Array.of(9, 9));
      p.client.channel.write(FrameKind.DELIVERY, 0, Uint8Array.of(1), Uint8Array.of(8));
      p.client.channel.write(FrameKind.DELIVERY, 0, encoder(200), new Uint8Array(5000).fill(7));
      p.client.channel.checksum = true;
      p.client.channel.write(FrameKind.DELIVERY, 0, encoder(5));
      p.client.channel.checksum = false;
      p.client.channel.write(FrameKind.DELIVERY, 0, encoder(0));
      await p.server.received(5);
      expect(p.server.frames.map((f) => [[...f.message], f.payload.byteLength, f.flags & FLAG_CHECKSUM])).toEqual([
        [[3, 3, 3], 2, 0], [[1], 1, 0], [new Array(200).fill(200), 5000, 0], [[5, 5, 5, 5, 5], 0, FLAG_CHECKSUM], [[], 0, 0],
      ]);
    }
  });

  it("PW-SESS-010: a Ping is answered with a Pong carrying its nonce and correlation id; a Ping that does not decode is MALFORMED_FRAME", async () => {
    const p = await pair();
    opened.push(p);
    p.client.channel.write(FrameKind.PING, 5, toBinary(PingSchema, create(PingSchema, { nonce: 42n })));
    await p.server.received(1);
    p.server.channel.answerPing(p.server.frames[0] as Frame);
    await p.client.received(1);
    const pong = p.client.frames[0] as Frame;
    expect([pong.kind, pong.correlationId, fromBinary(PongSchema, pong.message).nonce]).toEqual([FrameKind.PONG, 5, 42n]);
    const bad: Frame = { kind: FrameKind.PING, flags: 0, correlationId: 7, message: Uint8Array.of(0x08), payload: new Uint8Array(0) };
    expect(() => p.server.channel.answerPing(bad)).toThrow(expect.objectContaining({ code: "MALFORMED_FRAME" }));
  });

  it("PW-FRAME-006/PW-FRAME-013: a frame above the limit breaks the channel with FRAME_TOO_LARGE naming the limit; nothing more is delivered", async () => {
    const p = await pair(65_536);
    opened.push(p);
    p.client.channel.write(FrameKind.PING, 3, toBinary(PingSchema, create(PingSchema, { nonce: 1n })), new Uint8Array(70_000));
    p.client.channel.write(FrameKind.PING, 5, toBinary(PingSchema, create(PingSchema, { nonce: 2n })));
    await p.server.received(1);
    expect(p.server.frames).toEqual([]);
    expect(p.server.broken.map((e) => [e.code, e.limit])).toEqual([["FRAME_TOO_LARGE", 65_536n]]);
    expect(p.server.channel.buffered).toBe(0);
  });

  it("PW-ERR-001: writeError sends the error's code, message, retriable and limit", async () => {
    const p = await pair();
    opened.push(p);
    p.server.channel.writeError(new PolywireError("TOO_MANY_IN_FLIGHT", "busy", { limit: 3 }), 9);
    await p.client.received(1);
    const frame = p.client.frames[0] as Frame;
    const error = fromBinary(ErrorSchema, frame.message);
    expect([frame.kind, frame.correlationId, error.message, error.retriable, error.limit]).toEqual([FrameKind.ERROR, 9, "busy", true, 3n]);
  });
});
