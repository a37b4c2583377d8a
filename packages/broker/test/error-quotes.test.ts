// PW-ERR-007: an error message repeats at most 256 bytes of any value a peer
// sent, however large the value (a topic name of a megabyte, say).
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Health } from "@polywire/proto/grpc/health/v1/health";
import { ServerReflection } from "@polywire/proto/grpc/reflection/v1/reflection";
import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { PolywireError } from "@polywire/runtime";
import { Connection } from "@polywire/runtime/connection";
import { createAdminClient } from "@polywire/runtime/admin";
import { encodeBatch, init } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { Broker } from "../src/index.js";
import { QUOTE_LIMIT } from "../src/quote.js";

const HUGE = 1 << 20;

/** The longest run of `c` in `text`. */
function longestRun(text: string, c: string): number {
  let longest = 0;
  let run = 0;
  for (const ch of text) {
    run = ch === c ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

/** The message of the error `call` fails with. */
async function messageOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof PolywireError) return error.message;
    return ConnectError.from(error).rawMessage;
  }
  throw new Error("expected the call to fail");
}

function expectCut(message: string, filler: string, what: string): void {
  expect(longestRun(message, filler), `${what}: ${message.slice(0, 300)}`).toBeLessThanOrEqual(QUOTE_LIMIT);
  expect(longestRun(message, filler), what).toBeGreaterThan(0);
  expect(message, what).toContain(`(${HUGE} characters)`);
  expect(message.length, what).toBeLessThan(1_024);
}

describe("error messages quote input cut short (PW-ERR-007)", () => {
  it("PW-ERR-007: data plane: a produce to a topic named by a megabyte is INVALID_TOPIC with the name cut, and so is a fetch naming it twice", async () => {
    await init();
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" } });
    await using conn = await Connection.connect(broker.urls[0] as string);
    const topic = "t".repeat(HUGE);
    const batch = encodeBatch([{ value: new TextEncoder().encode("x") }]);
    const produced = await conn.call(FrameKind.PRODUCE_REQUEST, { topic, partition: 0, acks: Acks.LEADER }, batch).then(() => undefined, (e: unknown) => e);
    expect(produced).toBeInstanceOf(PolywireError);
    expect((produced as PolywireError).code).toBe("INVALID_TOPIC");
    expectCut((produced as PolywireError).message, "t", "produce");
    const twice = await messageOf(conn.call(FrameKind.FETCH_REQUEST, { partitions: [{ topic, partition: 0, offset: 0n }, { topic, partition: 0, offset: 0n }] }));
    expectCut(twice, "t", "fetch naming a partition twice");
  });

  it("PW-ERR-007: admin plane: topic names, config keys and values, health service names and reflection symbols of a megabyte come back cut", async () => {
    await using broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0, maxRequestBytes: 4 * HUGE } });
    await using admin = createAdminClient(broker.httpUrl as string);
    await admin.createTopic("quoted", { partitions: 1 });
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ["CreateTopic with a long name", () => admin.createTopic("n".repeat(HUGE)), "n"],
      ["CreateTopic with a long reserved name", () => admin.createTopic(`__${"n".repeat(HUGE - 2)}`), "n"],
      ["DescribeTopic of a long name", () => admin.describeTopic("d".repeat(HUGE)), "d"],
      ["CreateTopic with a long config key", () => admin.createTopic("quoted-2", { config: { ["k".repeat(HUGE)]: "1" } }), "k"],
      ["CreateTopic with a long config value", () => admin.createTopic("quoted-3", { config: { "retention.ms": "9".repeat(HUGE) } }), "9"],
      ["CreateTopic with a long fsync policy", () => admin.createTopic("quoted-4", { config: { "fsync.policy": "p".repeat(HUGE) } }), "p"],
      ["AlterTopicConfig setting and resetting a long key", () => admin.alterTopic("quoted", { set: { ["s".repeat(HUGE)]: "1" }, reset: ["s".repeat(HUGE)] }), "s"],
    ];
    for (const [what, call, filler] of cases) expectCut(await messageOf(call()), filler, what);

    const sessionManager = new Http2SessionManager(broker.httpUrl as string);
    try {
      const transport = createGrpcTransport({ baseUrl: broker.httpUrl as string, sessionManager, readMaxBytes: 4 * HUGE, writeMaxBytes: 4 * HUGE });
      const health = createClient(Health, transport);
      const unknown = await health.check({ service: "h".repeat(HUGE) }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(unknown?.code).toBe(Code.NotFound);
      expectCut(unknown?.rawMessage ?? "", "h", "Health.Check of a long service name");
      const reflection = createClient(ServerReflection, transport);
      for await (const answer of reflection.serverReflectionInfo((async function* () {
        yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "y".repeat(HUGE) } };
      })())) {
        expect(answer.messageResponse.case).toBe("errorResponse");
        if (answer.messageResponse.case === "errorResponse") expectCut(answer.messageResponse.value.errorMessage, "y", "reflection of a long symbol");
      }
    } finally {
      sessionManager.abort();
    }
  });
});
