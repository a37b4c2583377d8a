import { request as http1Request } from "node:http";
import { connect as connectTcp, type Socket } from "node:net";
import { check, ClauseViolation } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { sleep } from "../expect.js";
import { H2, RawH2Connection } from "./raw-h2.js";

/**
 * The admin listener's resources (§11.9): slow, silent and idle clients,
 * too many connections, too many HTTP/2 streams. Each case runs on a
 * variant whose limits are small enough to reach quickly.
 */

const LIST = "/polywire.v1.TopicService/ListTopics";
const GRPC = { "content-type": "application/grpc", te: "trailers" };
/** The bound the variants use for the deadlines, and how late past it a close still counts. */
const TIMEOUT_MS = 1_000;
const SLACK_MS = 4_000;

interface RawClient {
  readonly socket: Socket;
  readonly openedAt: number;
  received(): string;
  /** `performance.now()` when the broker closed the connection. */
  readonly closedAt: Promise<number>;
}

async function rawClient(baseUrl: string): Promise<RawClient> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connectTcp({ host: hostname, port: Number(port) });
  socket.on("error", () => undefined);
  let data = "";
  socket.on("data", (chunk: Buffer) => {
    data += chunk.toString("latin1");
  });
  const closedAt = new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now())));
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return { socket, openedAt: performance.now(), received: () => data, closedAt };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, sleep(ms).then(() => undefined)]);
}

/** A GET on a fresh connection closed after the answer: the HTTP status, or why there was none. */
function honestGet(baseUrl: string, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http1Request(`${baseUrl}${path}`, { agent: false, timeout: 10_000 }, (response) => {
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
    });
    req.once("error", (error) => resolve(error.message));
    req.once("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.end();
  });
}

async function expectServed(clause: string, baseUrl: string, what: string): Promise<void> {
  const status = await honestGet(baseUrl, "/healthz");
  check(clause, status === 200, `${what}: GET /healthz on a new connection got ${status}, not 200`);
}

/** Checks that `client` was closed between the bound and the bound plus slack after `from`. */
async function expectClosedAtBound(clause: string, client: { closedAt: Promise<number> }, from: number, what: string): Promise<void> {
  const at = await within(client.closedAt, TIMEOUT_MS + SLACK_MS);
  check(clause, at !== undefined, `${what}: still open ${TIMEOUT_MS + SLACK_MS} ms later, with a bound of ${TIMEOUT_MS} ms`);
  check(clause, at - from >= TIMEOUT_MS * 0.75, `${what}: closed after ${Math.round(at - from)} ms, before the ${TIMEOUT_MS} ms bound`);
}

const slowHeads: ConformanceCase = {
  id: "admin/listener-slow-heads",
  title: "Slow and idle admin connections are closed at the headers bound, on every path and before credentials: a request head sent a line at a time, a silent socket, an HTTP/2 session without streams; honest clients are served meanwhile",
  plane: "admin",
  clauses: ["PW-ADMIN-071", "PW-ADMIN-074"],
  needs: ["variants"],
  timeoutMs: 30_000,
  async run(ctx: CaseContext) {
    const variant = await ctx.variant({ memory: true, http: { headersTimeoutMs: TIMEOUT_MS }, adminTokens: { admin: "listener-admin", viewer: "listener-viewer" } });
    const url = variant.adminUrl;
    const heads = ["GET /metrics HTTP/1.1", "GET /readyz HTTP/1.1", `POST ${LIST} HTTP/1.1`];
    const slow = await Promise.all(heads.map(() => rawClient(url)));
    const silent = await rawClient(url);
    const session = await RawH2Connection.connect(url);
    const sessionOpened = performance.now();
    ctx.defer(() => {
      for (const c of [...slow, silent]) c.socket.destroy();
      session.close();
    });
    let trickling = true;
    const trickles = slow.map(async (client, i) => {
      client.socket.write(`${heads[i]}\r\nHost: x\r\n`);
      for (let n = 0; trickling && !client.socket.destroyed; n++) {
        await sleep(150);
        client.socket.write(`X-Slow-${n}: aaaaaaaaaa\r\n`);
      }
    });
    await expectServed("PW-ADMIN-074", url, "while three clients send their request heads slowly");
    try {
      for (const [i, client] of slow.entries()) await expectClosedAtBound("PW-ADMIN-071", client, client.openedAt, `a client sending the head of ${heads[i]} a line every 150 ms`);
      await expectClosedAtBound("PW-ADMIN-071", silent, silent.openedAt, "a client that sends nothing");
      await expectClosedAtBound("PW-ADMIN-071", { closedAt: session.closed.then(() => performance.now()) }, sessionOpened, "an HTTP/2 session that opens no stream");
    } finally {
      trickling = false;
      await Promise.all(trickles);
    }
    for (const [i, client] of slow.entries()) {
      if (!client.received().startsWith("HTTP/1.1 408")) ctx.note(`${heads[i]}: closed without the 408 Request Timeout PW-ADMIN-071 recommends`);
    }
    if (session.goaway() === undefined) ctx.note("the idle HTTP/2 session was closed without the GOAWAY PW-ADMIN-071 recommends");
    await expectServed("PW-ADMIN-074", url, "after the slow clients were closed");
  },
};

const slowBody: ConformanceCase = {
  id: "admin/listener-slow-body",
  title: "A request body trickled past the request bound is cut: its HTTP/1.1 connection closed, its HTTP/2 stream reset, the HTTP/2 connection still serving",
  plane: "admin",
  clauses: ["PW-ADMIN-072"],
  needs: ["variants"],
  timeoutMs: 30_000,
  async run(ctx: CaseContext) {
    const variant = await ctx.variant({ memory: true, http: { requestTimeoutMs: TIMEOUT_MS } });
    const url = variant.adminUrl;
    const h1 = await rawClient(url);
    const h2 = await RawH2Connection.connect(url);
    ctx.defer(() => {
      h1.socket.destroy();
      h2.close();
    });
    h1.socket.write(`POST ${LIST} HTTP/1.1\r\nHost: x\r\ncontent-type: application/proto\r\nconnect-protocol-version: 1\r\ncontent-length: 100\r\n\r\n`);
    h2.post(1, LIST, GRPC);
    const started = performance.now();
    let h2Done = false;
    const trickle = (async () => {
      for (let i = 0; i < 100 && !(h1.socket.destroyed && h2Done); i++) {
        if (!h1.socket.destroyed) h1.socket.write("\u0000");
        if (!h2Done) h2.data(1, Buffer.of(0), false);
        h2Done ||= h2.resetOf(1) !== undefined || h2.frames.some((f) => f.stream === 1 && (f.flags & 0x1) !== 0);
        await sleep(150);
      }
    })();
    try {
      await expectClosedAtBound("PW-ADMIN-072", h1, started, "an HTTP/1.1 request whose body arrives a byte every 150 ms");
      const cut = await h2.until(() => h2.resetOf(1) !== undefined, TIMEOUT_MS + SLACK_MS);
      check("PW-ADMIN-072", cut, `an HTTP/2 request whose body arrives a byte every 150 ms: stream 1 not reset ${TIMEOUT_MS + SLACK_MS} ms later, with a bound of ${TIMEOUT_MS} ms`);
      check("PW-ADMIN-072", performance.now() - started >= TIMEOUT_MS * 0.75, "the HTTP/2 stream was reset before the bound");
    } finally {
      h2Done = true;
      await trickle;
    }
    if (!h1.received().startsWith("HTTP/1.1 408")) ctx.note("the HTTP/1.1 request was cut without the 408 PW-ADMIN-072 recommends");
    // The HTTP/2 connection still serves: a new stream gets an answer.
    h2.post(3, LIST, GRPC);
    h2.data(3, Buffer.alloc(5), true);
    check("PW-ADMIN-072", await h2.until(() => h2.frames.some((f) => f.type === H2.HEADERS && f.stream === 3), 5_000), "after a stream was reset for its slow body, a new stream on the same HTTP/2 connection got no answer");
  },
};

const connectionLimit: ConformanceCase = {
  id: "admin/listener-connection-limit",
  title: "At the connection bound a new admin connection takes the place of the one waiting longest: honest calls are served through floods of idle sockets; only when all are busy is the new one closed",
  plane: "admin",
  clauses: ["PW-ADMIN-070", "PW-ADMIN-074"],
  needs: ["variants"],
  timeoutMs: 45_000,
  async run(ctx: CaseContext) {
    const limit = 4;
    const variant = await ctx.variant({ memory: true, http: { maxConnections: limit, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 } });
    const url = variant.adminUrl;
    const opened: RawClient[] = [];
    ctx.defer(() => {
      for (const c of opened) c.socket.destroy();
    });
    for (let i = 0; i < limit; i++) {
      opened.push(await rawClient(url));
      await sleep(20);
    }
    await sleep(200);
    await expectServed("PW-ADMIN-070", url, `with ${limit} idle sockets holding every slot`);
    check("PW-ADMIN-070", (await within(opened[0]!.closedAt, 2_000)) !== undefined, "the idle socket waiting longest was not closed to make room");
    for (let i = 0; i < 40; i++) opened.push(await rawClient(url));
    await expectServed("PW-ADMIN-070", url, "after a flood of 40 idle sockets");
    await sleep(300);
    const open = opened.filter((c) => !c.socket.destroyed && c.socket.readyState === "open").length;
    check("PW-ADMIN-070", open <= limit, `${open} of the runner's idle sockets are still open with a bound of ${limit} connections`);
    for (const c of opened) c.socket.destroy();
    await sleep(200);

    // Every slot busy with a request in progress: a new connection is closed, and served again once one finishes.
    const busy: RawClient[] = [];
    for (let i = 0; i < limit; i++) {
      const c = await rawClient(url);
      c.socket.write(`POST ${LIST} HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nconnect-protocol-version: 1\r\ncontent-length: 2\r\n\r\n{`);
      busy.push(c);
      opened.push(c);
    }
    await sleep(300);
    const extra = await rawClient(url);
    opened.push(extra);
    extra.socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await within(extra.closedAt, 3_000);
    if (!extra.socket.destroyed) ctx.note("with every connection busy, the broker kept a further connection open (it may queue it)");
    for (const c of busy) check("PW-ADMIN-070", !c.socket.destroyed, "a connection with a request in progress was closed to make room for a new one");
    busy[0]!.socket.write("}");
    const deadline = performance.now() + 5_000;
    while (!/\r\n\r\n\{/.test(busy[0]!.received()) && performance.now() < deadline) await sleep(10);
    check("PW-ADMIN-070", busy[0]!.received().startsWith("HTTP/1.1 200"), "a request in progress at the connection bound was not answered");
    await expectServed("PW-ADMIN-070", url, "after one of the busy connections finished its request");
  },
};

const streamLimit: ConformanceCase = {
  id: "admin/listener-h2-streams",
  title: "Over h2c the admin listener advertises SETTINGS_MAX_CONCURRENT_STREAMS and refuses the streams beyond it unprocessed, serving those within it",
  plane: "admin",
  clauses: ["PW-ADMIN-073"],
  needs: ["variants"],
  async run(ctx: CaseContext) {
    const limit = 3;
    const variant = await ctx.variant({ memory: true, http: { maxConcurrentStreams: limit } });
    const client = await RawH2Connection.connect(variant.adminUrl);
    ctx.defer(() => client.close());
    check("PW-ADMIN-073", await client.until(() => client.serverSettings() !== undefined, 5_000), "no SETTINGS frame from the broker");
    const advertised = client.serverSettings()?.get(H2.MAX_CONCURRENT_STREAMS);
    check("PW-ADMIN-073", advertised === limit, `SETTINGS_MAX_CONCURRENT_STREAMS is ${advertised ?? "not sent"}, the variant's bound is ${limit}`);
    const ids = [1, 3, 5, 7, 9, 11];
    for (const id of ids) client.post(id, LIST, GRPC);
    const refused = ids.slice(limit);
    const allRefused = await client.until(() => refused.every((id) => client.resetOf(id) !== undefined) || client.goaway() !== undefined, 5_000);
    check("PW-ADMIN-073", allRefused, `streams ${refused.join(", ")} beyond the bound of ${limit} were neither reset nor refused by GOAWAY`);
    for (const id of refused) {
      const code = client.resetOf(id);
      if (code !== undefined) check("PW-ADMIN-073", code === H2.REFUSED_STREAM || code === 0x1, `stream ${id} beyond the bound was reset with error code ${code}, not REFUSED_STREAM or PROTOCOL_ERROR`);
    }
    if (client.goaway() !== undefined) throw new ClauseViolation("PW-ADMIN-073", "streams beyond the bound, sent before the client acknowledged the setting, closed the whole connection instead of being refused one by one");
    if (refused.some((id) => client.resetOf(id) !== H2.REFUSED_STREAM)) ctx.note("streams refused before the setting was acknowledged did not get the REFUSED_STREAM PW-ADMIN-073 recommends");
    for (const id of ids.slice(0, limit)) {
      check("PW-ADMIN-073", client.resetOf(id) === undefined, `stream ${id}, within the bound, was reset`);
      client.data(id, Buffer.alloc(5), true);
    }
    const served = await client.until(() => ids.slice(0, limit).every((id) => client.frames.some((f) => f.type === H2.HEADERS && f.stream === id)), 5_000);
    check("PW-ADMIN-073", served, `the ${limit} streams within the bound were not all answered`);
  },
};

/** The admin listener's resource bounds (§11.9). */
export const listenerCases: readonly ConformanceCase[] = [slowHeads, slowBody, connectionLimit, streamLimit];
