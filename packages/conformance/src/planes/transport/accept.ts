import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import type { ConformanceCase } from "../../runner/case.js";
import { check, ClauseViolation } from "../../clause.js";
import { parseDialUrl } from "../../wire/dial.js";
import { encodeRawFrame, FrameSplitter, type WireFrame } from "../../wire/frame.js";
import { codeName, decodeError } from "../../wire/messages.js";
import { helloBytes } from "../../wire/session.js";
import { expectErrorFrame, expectServing, sleep } from "../expect.js";
import { testCerts } from "./certs.js";

/** A plain TCP connection to `url`'s host and port that never says anything: on a tls:// listener, a stalled TLS handshake. */
async function silentSocket(url: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  const address = parseDialUrl(url);
  if (address.scheme === "unix") throw new TypeError("a TCP listener is needed");
  const socket = netConnect({ host: address.host, port: address.port });
  socket.on("error", () => undefined);
  const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, closed };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([promise, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]).finally(() => clearTimeout(timer));
}

const countedFromAccept: ConformanceCase = {
  id: "session/connections-counted-from-accept",
  title: "Connections count against the connection limit from accept: with three sockets stalled in their TLS handshake, a fourth client's Hello is TOO_MANY_CONNECTIONS; once one of them closes, a client is served",
  plane: "session",
  clauses: ["PW-TRANS-007", "PW-LIM-004"],
  features: [Feature.LOG],
  needs: ["variants"],
  async run(ctx) {
    const certs = await testCerts();
    const variant = await ctx.variant({ limits: { maxConnections: 3 }, listeners: ["tcp", "tls"], tls: { cert: certs.serverCert, key: certs.serverKey } });
    const stalled = await Promise.all([0, 1, 2].map(() => silentSocket(variant.urls.tls as string)));
    ctx.defer(() => {
      for (const s of stalled) s.socket.destroy();
    });
    await sleep(300);
    const refused = await ctx.connectTo(variant.urls.tcp as string, { handshake: false });
    refused.expectAnswer(1, FrameKind.HELLO);
    refused.write(encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.LOG] }) }));
    const error = await expectErrorFrame(refused, "PW-TRANS-007", { code: ErrorCode.TOO_MANY_CONNECTIONS, correlationId: 1, connection: "closes" }, "a Hello while three sockets of a broker limited to three connections are in their TLS handshake");
    check("PW-LIM-004", error.retriable, "TOO_MANY_CONNECTIONS must be retriable");
    stalled[0]!.socket.destroy();
    const deadline = performance.now() + 3000;
    for (;;) {
      try {
        await expectServing(await ctx.connectTo(variant.urls.tcp as string), "PW-TRANS-007", "a client after one stalled socket closed");
        break;
      } catch (e) {
        if (performance.now() >= deadline) throw new ClauseViolation("PW-TRANS-007", `no client was served within 3 s after one of the three stalled sockets closed: ${(e as Error).message}`);
        await sleep(100);
      }
    }
  },
};

const tlsDeadline: ConformanceCase = {
  id: "session/tls-handshake-deadline",
  title: "The handshake timeout runs from accept over the TLS handshake and Hello together: a socket that never completes TLS is closed by it, and one whose TLS took most of it gets TIMEOUT when the rest runs out, not a full timeout later",
  plane: "session",
  clauses: ["PW-TRANS-008", "PW-SESS-008"],
  needs: ["variants"],
  timeoutMs: 30_000,
  async run(ctx) {
    const timeoutMs = 2000;
    const certs = await testCerts();
    const variant = await ctx.variant({ listeners: ["tls"], tls: { cert: certs.serverCert, key: certs.serverKey }, handshakeTimeoutMs: timeoutMs });
    const url = variant.urls.tls as string;

    const silent = await silentSocket(url);
    const accepted = performance.now();
    const closedAt = await within(silent.closed, timeoutMs + 3000);
    silent.socket.destroy();
    check("PW-TRANS-008", closedAt !== undefined, `a socket that never started its TLS handshake was still open ${timeoutMs + 3000} ms after accept (handshake timeout ${timeoutMs} ms)`);
    check("PW-TRANS-008", (closedAt as number) - accepted >= timeoutMs * 0.75, `the broker closed a stalled TLS handshake after ${Math.round((closedAt as number) - accepted)} ms, before its ${timeoutMs} ms handshake timeout`);

    // TLS done after 1.2 s of a 2 s budget; no Hello: TIMEOUT must come at about 2 s from accept, not 3.2 s.
    const late = await silentSocket(url);
    const start = performance.now();
    await sleep(1200);
    const tls = tlsConnect({ socket: late.socket, ca: certs.ca, servername: "localhost" });
    tls.on("error", () => undefined);
    const frames: WireFrame[] = [];
    const splitter = new FrameSplitter(16 * 1024 * 1024);
    tls.on("data", (chunk: Buffer) => frames.push(...splitter.push(chunk)));
    await within(new Promise((resolve) => tls.once("secureConnect", resolve)), 3000);
    const ended = await within(new Promise<number>((resolve) => tls.once("close", () => resolve(performance.now()))), timeoutMs + 3000);
    tls.destroy();
    check("PW-TRANS-008", ended !== undefined, "a TLS connection that sent no Hello was not closed");
    const error = frames.find((f) => f.kind === FrameKind.ERROR);
    check("PW-SESS-008", error !== undefined && decodeError(error).code === ErrorCode.TIMEOUT && error.correlationId === 0,
      `expected a TIMEOUT Error on correlation id 0 before the close, got ${error === undefined ? "none" : `${codeName(decodeError(error).code)} on ${error.correlationId}`}`);
    const took = (ended as number) - start;
    check("PW-TRANS-008", took < timeoutMs + 700, `the connection was closed ${Math.round(took)} ms after accept: the ${timeoutMs} ms handshake timeout did not count the ${1200} ms of TLS handshake`);
  },
};

/** How a broker accepts connections: counted from accept (PW-TRANS-007), one deadline from accept to Welcome (PW-TRANS-008). */
export const acceptCases: readonly ConformanceCase[] = [countedFromAccept, tlsDeadline];
