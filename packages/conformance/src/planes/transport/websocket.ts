import { ErrorCode, FrameKind, PingSchema } from "@polywire/proto/session";
import { check } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { encodeRawFrame } from "../../wire/frame.js";
import { codeName, decodeError, encode, kindName } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";
import { WebSocketStream, WsOpcode, WS_CLOSE_TOO_BIG } from "../../wire/websocket.js";
import { expectErrorFrame, expectServing } from "../expect.js";

/** Opens WebSocket sessions: to the target when its URL is ws:// or wss://, else to a variant listening on ws://. */
async function webSocketOpener(ctx: CaseContext, limits?: { maxFrameSize: number }): Promise<(handshake?: boolean) => Promise<WireSession>> {
  const own = /^wss?:\/\//.test(ctx.target.url);
  if (own && limits === undefined) return (handshake = true) => ctx.connect({ handshake });
  const variant = await ctx.variant({ listeners: ["ws"], ...(limits === undefined ? {} : { limits }) });
  const url = variant.urls.ws as string;
  return (handshake = true) => ctx.connectTo(url, { handshake });
}

function webSocketOf(session: WireSession): WebSocketStream {
  const stream = session.stream;
  if (!(stream instanceof WebSocketStream)) throw new Error(`the session to ${session.url} does not run over the runner's WebSocket client`);
  return stream;
}

function ping(correlationId: number, nonce: bigint): Uint8Array {
  return encodeRawFrame({ kind: FrameKind.PING, correlationId, message: encode(PingSchema, { nonce }) });
}

/** Every message the broker sent so far is binary and holds exactly one whole frame. */
function checkOneFramePerMessage(ws: WebSocketStream, what: string): void {
  ws.messages.forEach((m, i) => {
    check("PW-TRANS-003", m.binary, `${what}: message ${i} from the broker is a text message`);
    const declared = m.data.length >= 4 ? m.data.readUInt32BE(0) + 4 : -1;
    check("PW-TRANS-003", declared === m.data.length, `${what}: message ${i} from the broker has ${m.data.length} bytes, its first frame ${declared}`);
  });
}

const messages: ConformanceCase = {
  id: "session/websocket-messages",
  title: "Over WebSocket every frame the broker sends is one binary message; a frame split into WebSocket fragments of one message is read; a text message, a message with two frames and one with half a frame are MALFORMED_FRAME on correlation id 0, then close",
  plane: "session",
  clauses: ["PW-TRANS-003", "PW-FRAME-013"],
  async run(ctx) {
    const open = await webSocketOpener(ctx);
    const session = await open();
    const ws = webSocketOf(session);
    // Pipelined requests: the answers must still come one frame per message.
    const nonces = [11n, 12n, 13n, 14n, 15n];
    const pongs = await Promise.all(nonces.map((nonce) => session.call(FrameKind.PING, { nonce })));
    check("PW-TRANS-003", pongs.every((p, i) => p.message.nonce === nonces[i]), "pipelined Pings over WebSocket were not each answered with their nonce");
    const id = session.nextId();
    session.expectAnswer(id, FrameKind.PING);
    const frame = ping(id, 99n);
    const cut = 7;
    ws.sendFrame(WsOpcode.binary, frame.subarray(0, cut), false);
    ws.sendFrame(WsOpcode.continuation, frame.subarray(cut), true);
    const pong = await session.nextFrame(5000, (f) => f.correlationId === id).catch(() => undefined);
    check("PW-TRANS-003", pong?.kind === FrameKind.PONG, `a Ping sent as one binary message in two WebSocket fragments was answered with ${pong === undefined ? "nothing" : kindName(pong.kind)}`);
    checkOneFramePerMessage(ws, "Welcome, five pipelined Pongs and one more");
    check("PW-TRANS-003", ws.messages.length === 7, `the broker sent ${ws.messages.length} messages for Welcome and six Pongs`);

    const bystander = await open();
    const wrongs: Array<{ what: string; send(ws: WebSocketStream): void }> = [
      { what: "a text WebSocket message", send: (w) => w.sendText("PING") },
      { what: "a binary message holding two Ping frames", send: (w) => w.write(Buffer.concat([ping(3, 1n), ping(5, 2n)])) },
      { what: "a binary message holding the first half of a Ping frame", send: (w) => w.write(ping(3, 1n).subarray(0, 10)) },
    ];
    for (const wrong of wrongs) {
      const victim = await open();
      wrong.send(webSocketOf(victim));
      await expectErrorFrame(victim, "PW-TRANS-003", { code: ErrorCode.MALFORMED_FRAME, correlationId: 0, connection: "closes" }, wrong.what);
    }
    await expectServing(bystander, "PW-FRAME-013", "another WebSocket connection, after the malformed messages");
  },
};

const tooBig: ConformanceCase = {
  id: "session/websocket-too-big",
  title: "Over WebSocket a message above max_frame_size is refused: FRAME_TOO_LARGE then close, or a WebSocket close 1009 without an Error frame",
  plane: "session",
  clauses: ["PW-TRANS-006", "PW-FRAME-006"],
  needs: ["variants"],
  async run(ctx) {
    const maxFrameSize = 64 * 1024;
    const open = await webSocketOpener(ctx, { maxFrameSize });
    const session = await open();
    const ws = webSocketOf(session);
    const message = encode(PingSchema, { nonce: 5n });
    session.sendFrame({ kind: FrameKind.PING, correlationId: session.nextId(), message, payload: new Uint8Array(maxFrameSize - 16 - message.length + 1) });
    const end = await session.waitEnd(5000);
    check("PW-FRAME-006", end !== undefined, `a ${maxFrameSize + 1}-byte WebSocket message to a broker with max_frame_size ${maxFrameSize} did not close the connection within 5 s`);
    const error = await session.nextFrame(0, (f) => f.kind === FrameKind.ERROR).catch(() => undefined);
    if (error === undefined) {
      check("PW-TRANS-006", ws.closeCode === WS_CLOSE_TOO_BIG, `the oversized message was refused with WebSocket close ${ws.closeCode ?? "(none)"} and no Error frame; without an Error frame the close code must be 1009`);
      ctx.note("refused by the WebSocket layer: close 1009, no Error frame");
      return;
    }
    const code = decodeError(error).code;
    check("PW-FRAME-006", code === ErrorCode.FRAME_TOO_LARGE && error.correlationId === 0, `the oversized WebSocket message was answered with ${codeName(code)} on correlation id ${error.correlationId}, expected FRAME_TOO_LARGE on 0`);
    ctx.note("refused by the broker: FRAME_TOO_LARGE, then close");
  },
};

/** Sends `total` bytes of one binary message as fragments of `size` bytes, without ending it. */
function sendUnfinished(ws: WebSocketStream, bytes: Uint8Array, size: number, first: boolean): void {
  for (let at = 0; at < bytes.byteLength; at += size) {
    ws.sendFrame(first && at === 0 ? WsOpcode.binary : WsOpcode.continuation, bytes.subarray(at, Math.min(at + size, bytes.byteLength)), false);
  }
}

const whileArriving: ConformanceCase = {
  id: "session/websocket-message-arriving",
  title: "Over WebSocket a message is held to the frame limit while it arrives: before Welcome one whose fragments pass 64 KiB is refused before it ends; after Welcome the bytes of unfinished messages count in the inbound budget",
  plane: "session",
  clauses: ["PW-TRANS-011", "PW-FRAME-017", "PW-LIM-006"],
  needs: ["variants"],
  async run(ctx) {
    const budget = 256 * 1024;
    const variant = await ctx.variant({ listeners: ["ws"], limits: { maxBufferedInboundBytes: budget } });
    const url = variant.urls.ws as string;
    const early = await ctx.connectTo(url, { handshake: false });
    // 80 KiB of a message before any Hello, in 16 KiB fragments, and never its end.
    sendUnfinished(webSocketOf(early), new Uint8Array(80 * 1024), 16 * 1024, true);
    const end = await early.waitEnd(5000);
    const refusal = await early.nextFrame(0, (f) => f.kind === FrameKind.ERROR).catch(() => undefined);
    if (refusal === undefined) {
      check("PW-TRANS-011", end !== undefined && webSocketOf(early).closeCode === WS_CLOSE_TOO_BIG, `an unfinished message of 80 KiB sent before Welcome got ${end === undefined ? "no answer within 5 s: it was buffered, not refused as its fragments passed 64 KiB" : `a close ${webSocketOf(early).closeCode ?? "(none)"} without an Error frame`}`);
    } else {
      const error = decodeError(refusal);
      check("PW-FRAME-017", error.code === ErrorCode.FRAME_TOO_LARGE && refusal.correlationId === 0, `an unfinished message of 80 KiB before Welcome was answered with ${codeName(error.code)} on correlation id ${refusal.correlationId}, expected FRAME_TOO_LARGE on 0`);
    }

    const bystander = await ctx.connectTo(url);
    const holder = await ctx.connectTo(url);
    const other = await ctx.connectTo(url);
    // 200,000 bytes of an unfinished message, then 70,000 on another connection: over the budget.
    sendUnfinished(webSocketOf(holder), new Uint8Array(200_000), 20_000, true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expectServing(bystander, "PW-TRANS-011", "another WebSocket connection while 200,000 bytes of an unfinished message are held");
    sendUnfinished(webSocketOf(other), new Uint8Array(70_000), 10_000, true);
    const error = await expectErrorFrame(holder, "PW-TRANS-011", { code: ErrorCode.RESOURCE_EXHAUSTED, correlationId: 0, connection: "closes" }, `the WebSocket connection holding 200,000 bytes of an unfinished message when another brought the total above the budget of ${budget} bytes`);
    check("PW-LIM-006", error.limit === BigInt(budget), `Error.limit of RESOURCE_EXHAUSTED is ${error.limit}, expected ${budget}`);
    await expectServing(bystander, "PW-LIM-006", "another WebSocket connection after RESOURCE_EXHAUSTED");
  },
};

/** WebSocket message rules (PW-TRANS-003, PW-TRANS-006, PW-TRANS-011). */
export const webSocketCases: readonly ConformanceCase[] = [messages, tooBig, whileArriving];
