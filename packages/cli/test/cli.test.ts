import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Broker } from "@polywire/broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnBroker, tempDir } from "../../broker/test/helpers.js";
import { colorWanted, palette } from "../src/colors.js";
import { run } from "../src/index.js";
import { polywire } from "./run-cli.js";

const COMMANDS = ["broker", "bench", "cluster", "consume", "group", "produce", "pub", "sub", "topic"];

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}

let broker: Broker;
let env: Record<string, string>;

beforeAll(async () => {
  broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { port: 0 } });
  env = { POLYWIRE_ADMIN_URL: broker.httpUrl as string, POLYWIRE_BROKER: broker.urls[0] as string };
});

afterAll(async () => {
  await broker?.close();
});

describe("polywire help and usage", () => {
  it("help lists every command and the exit codes; no command is a usage error (2)", async () => {
    const help = await polywire(["help"]);
    expect(help.code).toBe(0);
    for (const name of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
    expect(help.stdout).toMatch(/^exit codes:$/m);
    expect(help.stdout).toMatch(/^ {2}6 {4}not supported/m);
    expect((await polywire([])).code).toBe(2);
    const unknown = await polywire(["frobnicate"]);
    expect([unknown.code, unknown.stderr]).toEqual([2, 'polywire: unknown command "frobnicate"\n']);
  });

  it.each(COMMANDS)("polywire %s --help prints usage with examples and exits 0", async (name) => {
    const result = await polywire([name, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: polywire ${name}`));
    expect(result.stdout).toMatch(/\nexamples:\n {2}.*polywire /);
  });

  it("bad flags and missing arguments are usage errors (exit 2) printed with the usage", async () => {
    const unknownFlag = await polywire(["topic", "list", "--bogus"], { env });
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/bogus[\s\S]*usage: polywire topic/);
    const missing = await polywire(["topic", "create"], { env });
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/^polywire topic: missing <name>/)]);
    expect((await polywire(["topic", "frob"], { env })).code).toBe(2);
    expect((await polywire(["topic", "list", "--partitions", "3"], { env })).stderr).toMatch(/--partitions does not apply to topic list/);
    expect((await polywire(["consume", "t", "--format", "xml"], { env })).stderr).toMatch(/--format must be one of text, json, raw/);
    expect((await polywire(["consume", "t", "--from", "5"], { env })).stderr).toMatch(/--from <offset> needs --partition/);
    expect((await polywire(["group", "reset", "g"], { env })).code).toBe(2);
  });
});

describe("polywire topic (TopicService)", () => {
  it("PW-ADMIN-011..016: create, list, describe, alter and delete with --json outputs that parse, and the documented exit codes", async () => {
    const created = await polywire(["topic", "create", "cli-orders", "--partitions", "3", "--config", "retention.ms=3600000"], { env });
    expect([created.code, created.stdout]).toEqual([0, "created topic cli-orders with 3 partitions\n"]);

    const again = await polywire(["topic", "create", "cli-orders"], { env });
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^polywire topic: ERROR_CODE_TOPIC_ALREADY_EXISTS: topic cli-orders already exists\n {2}next: /);

    const bad = await polywire(["topic", "create", "no/slashes"], { env });
    expect(bad.code).toBe(7);
    expect(bad.stderr).toContain("ERROR_CODE_INVALID_TOPIC");
    const badConfig = await polywire(["topic", "create", "cfg", "--config", "retention.mss=1"], { env });
    expect([badConfig.code, badConfig.stderr]).toEqual([7, expect.stringContaining('"retention.mss"')]);

    const list = await polywire(["topic", "list", "--json"], { env });
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { topics: unknown[] }).topics).toContainEqual({ name: "cli-orders", partitions: 3, internal: false });
    expect((await polywire(["topic", "list"], { env })).stdout).toMatch(/^NAME +PARTITIONS\ncli-orders +3$/m);

    const described = JSON.parse((await polywire(["topic", "describe", "cli-orders", "--json"], { env })).stdout) as { name: string; partitioner: string; partitions: Array<{ highWatermark: string }>; config: { entries: Record<string, string> } };
    expect([described.name, described.partitioner, described.partitions.length, described.partitions[0]?.highWatermark]).toEqual(["cli-orders", "murmur2", 3, "0"]);
    expect(described.config.entries["retention.ms"]).toBe("3600000");
    expect((await polywire(["topic", "describe", "cli-orders"], { env })).stdout).toMatch(/^topic cli-orders {2}partitions 3 {2}partitioner murmur2$/m);

    const altered = await polywire(["topic", "alter", "cli-orders", "--partitions", "4", "--set", "segment.bytes=1048576", "--reset", "retention.ms", "--json"], { env });
    const after = JSON.parse(altered.stdout) as typeof described;
    expect([altered.code, after.partitions.length, after.config.entries["segment.bytes"], after.config.entries["retention.ms"]]).toEqual([0, 4, "1048576", "604800000"]);
    const shrink = await polywire(["topic", "alter", "cli-orders", "--partitions", "2"], { env });
    expect([shrink.code, shrink.stderr]).toEqual([7, expect.stringContaining("only grow")]);
    expect((await polywire(["topic", "alter", "cli-orders"], { env })).code).toBe(2);

    expect((await polywire(["topic", "delete", "cli-orders"], { env })).stdout).toBe("deleted topic cli-orders\n");
    const gone = await polywire(["topic", "describe", "cli-orders"], { env });
    expect([gone.code, gone.stderr]).toEqual([4, expect.stringContaining("ERROR_CODE_UNKNOWN_TOPIC")]);
    expect((await polywire(["topic", "delete", "cli-orders"], { env })).code).toBe(4);
    const ifExists = await polywire(["topic", "delete", "cli-orders", "--if-exists", "--json"], { env });
    expect([ifExists.code, JSON.parse(ifExists.stdout)]).toEqual([0, { deleted: false, name: "cli-orders" }]);
  });

  it("admin commands work over gRPC and gRPC-Web too", async () => {
    await broker.createTopic("cli-proto", { partitions: 2 });
    for (const flags of [["--protocol", "grpc"], ["--protocol", "grpc-web"], ["--protocol", "grpc-web", "--http2"], ["--http2"]]) {
      const result = await polywire(["topic", "describe", "cli-proto", "--json", ...flags], { env });
      expect(result.code, result.stderr).toBe(0);
      expect((JSON.parse(result.stdout) as { partitions: unknown[] }).partitions).toHaveLength(2);
    }
  });
});

describe("polywire produce and consume", () => {
  it("PW-LOG-005: produce from stdin with key separator and headers, then consume as JSON lines, text and raw", async () => {
    await broker.createTopic("cli-events", { partitions: 2 });
    const produced = await polywire(["produce", "cli-events", "--key-separator", ":", "--header", "source=cli", "--type-id", "7", "--json"], { env, input: "k1:first\nk2:second\nk1:third\n" });
    expect(produced.code, produced.stderr).toBe(0);
    expect(JSON.parse(produced.stdout)).toMatchObject({ topic: "cli-events", records: 3, bytes: 16 });

    const consumed = await polywire(["consume", "cli-events", "--format", "json"], { env });
    expect(consumed.code, consumed.stderr).toBe(0);
    const records = jsonLines(consumed.stdout);
    expect(records).toHaveLength(3);
    for (const r of records) {
      expect(r).toMatchObject({ topic: "cli-events", headers: [{ key: "source", value: "cli" }], typeId: 7 });
      expect(typeof r.timestamp).toBe("number");
    }
    const byKey = (key: string): unknown[] => records.filter((r) => r.key === key).map((r) => r.value);
    expect(byKey("k1")).toEqual(["first", "third"]);
    expect(byKey("k2")).toEqual(["second"]);
    const k1 = records.filter((r) => r.key === "k1");
    expect(k1[0]?.partition).toBe(k1[1]?.partition);
    expect(BigInt(k1[1]?.offset as string)).toBeGreaterThan(BigInt(k1[0]?.offset as string));
    // Keyed records of one partition, in offset order (PW-PART-002, PW-LOG-030).
    const inPartition = records.filter((r) => r.partition === k1[0]?.partition);
    expect(inPartition.map((r) => r.offset)).toEqual(inPartition.map((_, i) => String(i)));

    const text = await polywire(["consume", "cli-events"], { env });
    expect(text.stdout.split("\n").filter(Boolean).sort()).toEqual(["first", "second", "third"]);
    const partition = String(k1[0]?.partition);
    const raw = await polywire(["consume", "cli-events", "--partition", partition, "--format", "raw", "--delimiter", "|"], { env });
    expect(raw.stdout).toBe(inPartition.map((r) => `${String(r.value)}|`).join(""));
    const fromOffset = await polywire(["consume", "cli-events", "--partition", partition, "--from", k1[1]?.offset as string], { env });
    expect(fromOffset.stdout).toBe("third\n");
    const past = await polywire(["consume", "cli-events", "--partition", partition, "--from", "9"], { env });
    expect([past.code, past.stderr]).toEqual([7, expect.stringContaining("past the end")]);
    expect((await polywire(["consume", "cli-events", "--count", "1"], { env })).stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect((await polywire(["consume", "cli-events", "--from", "latest"], { env })).stdout).toBe("");
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await polywire(["consume", "cli-events", "--from", `@${future}`], { env })).stdout).toBe("");
    expect((await polywire(["consume", "cli-events", "--from", "@0", "--format", "json"], { env })).stdout.trim().split("\n")).toHaveLength(3);
  });

  it("consume --json is --format json, as --json is for every other command; with another --format it is a usage error", async () => {
    await broker.createTopic("cli-json-flag", { partitions: 1 });
    expect((await polywire(["produce", "cli-json-flag"], { env, input: "a\nb\n" })).code).toBe(0);
    const flag = await polywire(["consume", "cli-json-flag", "--json"], { env });
    expect(flag.code, flag.stderr).toBe(0);
    expect(jsonLines(flag.stdout)).toMatchObject([{ topic: "cli-json-flag", offset: "0", value: "a" }, { offset: "1", value: "b" }]);
    expect(flag.stdout).toBe((await polywire(["consume", "cli-json-flag", "--format", "json"], { env })).stdout);
    const both = await polywire(["consume", "cli-json-flag", "--json", "--format", "raw"], { env });
    expect([both.code, both.stderr]).toEqual([2, expect.stringMatching(/--json and --format raw exclude each other/)]);
    expect((await polywire(["consume", "--help"])).stdout).toMatch(/^ {2}--json {2,}one JSON object per line/m);
  });

  it("PW-LIM-003/PW-LOG-018: a 20 MB record fails naming its size, the limits and the flags that raise them; with them raised it goes through", { timeout: 120_000 }, async () => {
    await broker.createTopic("cli-huge", { partitions: 1 });
    const value = Buffer.alloc(20_000_000, 0x61);
    const refused = await polywire(["produce", "cli-huge", "--format", "raw"], { env, input: value });
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(/^polywire produce: a record of 2000\d{4} bytes \(encoded as a batch of one\) exceeds the producer's maxMessageBytes of 1048588 \(.*polywire produce --max-message-bytes\).*max_batch_size of 8388608 .*polywire broker --max-batch-size.*polywire broker --max-frame-size/);
    const roomy = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, limits: { maxBatchSize: 32 << 20, maxFrameSize: 32 << 20 }, topics: [{ name: "huge", partitions: 1, config: { "max.message.bytes": String(32 << 20) } }] });
    try {
      const at = { POLYWIRE_BROKER: roomy.urls[0] as string };
      const produced = await polywire(["produce", "huge", "--format", "raw", "--max-message-bytes", String(32 << 20), "--json"], { env: at, input: value });
      expect(produced.code, produced.stderr).toBe(0);
      expect(JSON.parse(produced.stdout)).toMatchObject({ records: 1, bytes: 20_000_000 });
      const small = await polywire(["consume", "huge", "--format", "raw"], { env: at });
      expect(small.code).toBe(7);
      expect(small.stderr).toMatch(/maxFrameSize of 16777216 bytes \(PW-LOG-018\); raise it with connect\(urls, \{ maxFrameSize \}\) or polywire consume --max-frame-size/);
      const consumed = await polywire(["consume", "huge", "--format", "raw", "--delimiter", "", "--max-frame-size", String(32 << 20)], { env: at });
      expect(consumed.code, consumed.stderr).toBe(0);
      expect(consumed.stdout.length).toBe(20_000_000);
    } finally {
      await roomy.close();
    }
  });

  it("PW-BATCH-012: JSON lines round-trip binary values, null values and repeated headers through produce --format json", async () => {
    await broker.createTopic("cli-binary", { partitions: 1 });
    await broker.createTopic("cli-copy", { partitions: 3 });
    const binary = Buffer.from([0xff, 0x00, 0xfe]).toString("base64");
    const input = [
      JSON.stringify({ key: "a", valueBase64: binary, headers: [{ key: "h", value: "1" }, { key: "h", value: "2" }] }),
      JSON.stringify({ key: "b", value: null, timestamp: 1_700_000_000_000 }),
      "",
    ].join("\n");
    expect((await polywire(["produce", "cli-binary", "--format", "json"], { env, input })).code).toBe(0);
    const first = jsonLines((await polywire(["consume", "cli-binary", "--format", "json"], { env })).stdout);
    expect(first[0]).toMatchObject({ key: "a", valueBase64: binary, headers: [{ key: "h", value: "1" }, { key: "h", value: "2" }] });
    expect(first[0]).not.toHaveProperty("value");
    expect(first[1]).toMatchObject({ key: "b", value: null, timestamp: 1_700_000_000_000 });

    const copied = await polywire(["produce", "cli-copy", "--format", "json"], { env, input: (await polywire(["consume", "cli-binary", "--format", "json"], { env })).stdout });
    expect(copied.code, copied.stderr).toBe(0);
    const second = jsonLines((await polywire(["consume", "cli-copy", "--format", "json"], { env })).stdout);
    const strip = (r: Record<string, unknown>): Record<string, unknown> => ({ key: r.key, value: r.value, valueBase64: r.valueBase64, headers: r.headers, timestamp: r.timestamp });
    expect(second.map(strip).sort((a, b) => String(a.key).localeCompare(String(b.key)))).toEqual(first.map(strip));
  });

  it("bad input stops produce with exit 2 naming the line, after producing the lines before it", async () => {
    await broker.createTopic("cli-bad-input", { partitions: 1 });
    const result = await polywire(["produce", "cli-bad-input", "--format", "json"], { env, input: `${JSON.stringify({ value: "ok" })}\n{not json\n${JSON.stringify({ value: "never" })}\n` });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^polywire produce: line 2: not JSON/);
    expect(result.stderr).toContain("next: records before this line were produced");
    expect((await polywire(["consume", "cli-bad-input"], { env })).stdout).toBe("ok\n");
    const noSeparator = await polywire(["produce", "cli-bad-input", "--key-separator", "="], { env, input: "a=1\nplain\n" });
    expect([noSeparator.code, noSeparator.stderr]).toEqual([2, expect.stringMatching(/line 2: no key separator "="/)]);
  });

  it("produce --rate limits records per second; --file reads a file; a missing topic exits 4 with a hint", async () => {
    await broker.createTopic("cli-rate", { partitions: 1 });
    const dir = tempDir("cli-file");
    try {
      const file = join(dir.path, "values.txt");
      writeFileSync(file, Array.from({ length: 10 }, (_, i) => `v${i}`).join("\n"));
      const started = performance.now();
      const result = await polywire(["produce", "cli-rate", "--file", file, "--rate", "20"], { env });
      expect(result.code, result.stderr).toBe(0);
      // 10 records at 20/s: the last is due 450 ms after the first.
      expect(performance.now() - started).toBeGreaterThanOrEqual(450);
      expect((await polywire(["consume", "cli-rate"], { env })).stdout.split("\n").filter(Boolean)).toHaveLength(10);
      expect((await polywire(["produce", "cli-rate", "--file", join(dir.path, "missing.txt")], { env })).code).toBe(2);
    } finally {
      dir.remove();
    }
    const missing = await polywire(["produce", "cli-nope"], { env, input: "x\n" });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/UNKNOWN_TOPIC[\s\S]*next: create the topic with `polywire topic create/);
    expect((await polywire(["consume", "cli-nope"], { env })).code).toBe(4);
  });
});

describe("polywire group, cluster and bench", () => {
  it("PW-ADMIN-040/PW-ADMIN-041/PW-ADMIN-043: cluster describe, health and metrics, as text and JSON", async () => {
    const describe = JSON.parse((await polywire(["cluster", "describe", "--json"], { env })).stdout) as { brokers: Array<{ brokerId: string; adminUrl: string }> };
    expect(describe.brokers[0]).toMatchObject({ brokerId: broker.id, adminUrl: broker.httpUrl });
    const health = await polywire(["cluster", "health", "--json"], { env });
    expect([health.code, (JSON.parse(health.stdout) as { status: string }).status]).toEqual([0, "HEALTH_STATUS_SERVING"]);
    expect((await polywire(["cluster", "health"], { env })).stdout).toMatch(/^status SERVING/);
    const metrics = await polywire(["cluster", "metrics", "--prefix", "polywire_admin_requests"], { env });
    expect(metrics.stdout).toMatch(/^polywire_admin_requests_total\{code="ok",method="GetHealth",service="ClusterService"\} \d+$/m);
    const json = JSON.parse((await polywire(["cluster", "metrics", "--json", "--prefix", "polywire_connections"], { env })).stdout) as { families: Array<{ name: string }> };
    expect(json.families.map((f) => f.name)).toEqual(["polywire_connections", "polywire_connections_accepted_total", "polywire_connections_rejected_total"]);
  });

  it("bench produces and consumes the records, prints a summary table or JSON, and deletes its topic", async () => {
    const json = await polywire(["bench", "--records", "3000", "--size", "64", "--json"], { env });
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout) as { topic: string; produce: { records: number; latencyMs: { p50: number; p99: number } }; consume: { records: number; recordsPerSecond: number } };
    expect([summary.produce.records, summary.consume.records]).toEqual([3000, 3000]);
    expect(summary.produce.latencyMs.p99).toBeGreaterThanOrEqual(summary.produce.latencyMs.p50);
    expect(summary.consume.recordsPerSecond).toBeGreaterThan(0);
    const table = await polywire(["bench", "--records", "500"], { env });
    expect(table.stdout).toMatch(/^PHASE +RECORDS +DATA +SECONDS +RECORDS\/S +MiB\/S +P50 MS +P99 MS\nproduce +500 /m);
    expect(table.stdout).toMatch(/^consume +500 /m);
    expect(table.stderr).toBe("");
    const topics = (JSON.parse((await polywire(["topic", "list", "--json"], { env })).stdout) as { topics: Array<{ name: string }> }).topics;
    expect(topics.filter((t) => t.name.startsWith("polywire-bench-"))).toEqual([]);
  });

  it("bench draws a progress bar on a terminal's status line and clears it", async () => {
    const status: string[] = [];
    const out: string[] = [];
    const code = await run(["bench", "--records", "40000", "--size", "16", "--admin", env.POLYWIRE_ADMIN_URL as string, "--broker", env.POLYWIRE_BROKER as string], { out: (l) => out.push(l), err: (l) => out.push(l), status: (l) => status.push(l) });
    expect(code).toBe(0);
    const bars = status.filter((l) => l !== "");
    for (const line of bars) expect(line).toMatch(/^(produce|consume) +\[#*-*\] +\d+% {2}[\d,]+\/40,000 {2}[\d,]+ rec\/s$/);
    // Each phase starts at 0% and ends at 100%, however fast it runs.
    for (const name of ["produce", "consume"]) {
      const phaseBars = bars.filter((l) => l.startsWith(name));
      expect(phaseBars[0]).toMatch(/\[-{30}\] +0% {2}0\/40,000/);
      expect(phaseBars.at(-1)).toMatch(/\[#{30}\] 100% {2}40,000\/40,000/);
    }
    expect(status.at(-1)).toBe("");
    expect(out.join("\n")).toMatch(/^produce +40,000 /m);
  });
});

describe("polywire failures and output", () => {
  it("an unreachable admin service or broker exits 3 and says what to check", async () => {
    const port = await closedPort();
    const admin = await polywire(["topic", "list", "--admin", `http://127.0.0.1:${port}`]);
    expect(admin.code).toBe(3);
    expect(admin.stderr).toMatch(/^polywire topic: cannot reach the admin service: .*ECONNREFUSED/);
    expect(admin.stderr).toMatch(/next: check that a broker serves its HTTP port at http:\/\/127\.0\.0\.1:\d+ \(`polywire broker` serves it on port 7421 by default\)/);
    const started = performance.now();
    const data = await polywire(["consume", "t", "--broker", `tcp://127.0.0.1:${port}`, "--connect-timeout", "1000"]);
    expect(data.code).toBe(3);
    // Within the connect timeout (plus the process's start), naming the address and the cause.
    expect(performance.now() - started).toBeLessThan(12_000);
    expect(data.stderr).toMatch(new RegExp(`^polywire consume: cannot connect to tcp://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED .*connectTimeoutMs`));
    expect(data.stderr).toMatch(/next: check that a broker listens at tcp:\/\/127\.0\.0\.1:\d+/);
  });

  it("colors only on a terminal and never with NO_COLOR or TERM=dumb", async () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
    expect(colorWanted({ isTTY: true }, { TERM: "dumb" })).toBe(false);
    expect(palette(true).red("x")).toBe("\u001b[31mx\u001b[39m");
    expect(palette(false).red("x")).toBe("x");
    const out: string[] = [];
    const err: string[] = [];
    await run(["topic", "describe", "cli-none"], { out: (l) => out.push(l), err: (l) => err.push(l), color: true });
    expect(err[0]).toContain("\u001b[31mpolywire topic:\u001b[39m");
    const piped = await polywire(["topic", "describe", "cli-none"], { env });
    expect(piped.stderr).not.toContain("\u001b[");
  });
});

describe("polywire broker --config", () => {
  it("reads listeners, HTTP port and topics from a JSON config file; flags override it; bad keys are usage errors", async () => {
    const dir = tempDir("cli-config");
    try {
      const config = join(dir.path, "broker.json");
      writeFileSync(config, JSON.stringify({ memory: true, listen: ["tcp://127.0.0.1:0"], http: { port: 0, maxRequestBytes: 2048 }, topics: ["from-file:2", { name: "with-config", partitions: 1, config: { "retention.ms": "1000" } }], brokerId: "file-broker" }));
      const child = await spawnBroker(["--config", config, "--topic", "from-flag:1", "--broker-id", "flag-broker"]);
      try {
        const http = /^ {2}http +(\S+)$/m.exec(child.output())?.[1] as string;
        expect(child.output()).toMatch(/^polywire broker flag-broker$/m);
        const list = JSON.parse((await polywire(["topic", "list", "--json", "--admin", http])).stdout) as { topics: Array<{ name: string; partitions: number }> };
        expect(list.topics.map((t) => [t.name, t.partitions])).toEqual([["from-file", 2], ["from-flag", 1], ["with-config", 1]]);
        const described = JSON.parse((await polywire(["topic", "describe", "with-config", "--json", "--admin", http])).stdout) as { config: { entries: Record<string, string> } };
        expect(described.config.entries["retention.ms"]).toBe("1000");
        // PW-ADMIN-051: the file's http.maxRequestBytes reaches the broker.
        const big = await fetch(`${http}/polywire.v1.TopicService/ListTopics`, { method: "POST", headers: { "content-type": "application/json", "connect-protocol-version": "1" }, body: JSON.stringify({ padding: "x".repeat(2048) }) });
        expect([big.status, ((await big.json()) as { code: string }).code]).toEqual([429, "resource_exhausted"]);
      } finally {
        child.child.kill("SIGTERM");
        expect(await child.exited).toBe(0);
      }
      writeFileSync(config, JSON.stringify({ memory: true, htpp: { port: 0 } }));
      const bad = await polywire(["broker", "--config", config]);
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining(`config file ${config}: htpp is not a config key; known: listeners, storage,`)]);
      writeFileSync(config, "{ not json");
      expect((await polywire(["broker", "--config", config])).stderr).toContain("not valid JSON");
      writeFileSync(config, JSON.stringify({ memory: true, limits: { maxConnections: 0 } }));
      const limits = await polywire(["broker", "--config", config]);
      expect([limits.code, limits.stderr]).toEqual([2, expect.stringContaining("limits.maxConnections must be a positive 32-bit integer")]);
      // PW-ADMIN-051: the broker checks the admin request limit's range, the file only its type.
      writeFileSync(config, JSON.stringify({ memory: true, listen: ["tcp://127.0.0.1:0"], http: { port: 0, maxRequestBytes: 512 } }));
      const tooSmall = await polywire(["broker", "--config", config]);
      expect([tooSmall.code, tooSmall.stderr]).toEqual([2, expect.stringContaining("http.maxRequestBytes must be a whole number of bytes from 1024")]);
    } finally {
      dir.remove();
    }
  });
});

describe("polywire with admin authentication (PW-ADMIN-003, PW-ADMIN-046)", () => {
  it("the broker reads tokens from its config file; admin commands send $POLYWIRE_ADMIN_TOKEN or --admin-token and exit 8 with a hint without one", async () => {
    const dir = tempDir("cli-admin-auth");
    try {
      const config = join(dir.path, "broker.json");
      writeFileSync(join(dir.path, "ops.token"), "ops-token-5c1d9e\n");
      writeFileSync(config, JSON.stringify({
        memory: true, listen: ["tcp://127.0.0.1:0"], http: { port: 0 },
        adminAuth: { tokens: [{ principal: "ops", role: "admin", tokenFile: "ops.token" }, { principal: "grafana", role: "viewer", token: "viewer-token-77aa" }] },
      }));
      const child = await spawnBroker(["--config", config]);
      try {
        const admin = { POLYWIRE_ADMIN_URL: /^ {2}http +(\S+)$/m.exec(child.output())?.[1] as string, POLYWIRE_ADMIN_TOKEN: "" };
        const anonymous = await polywire(["topic", "list"], { env: admin });
        expect([anonymous.code, anonymous.stderr]).toEqual([8, expect.stringContaining("--admin-token")]);
        expect(anonymous.stderr).toContain("ERROR_CODE_AUTHENTICATION_FAILED");

        const created = await polywire(["topic", "create", "secured", "--partitions", "2"], { env: { ...admin, POLYWIRE_ADMIN_TOKEN: "ops-token-5c1d9e" } });
        expect([created.code, created.stderr]).toEqual([0, ""]);
        const listed = await polywire(["topic", "list", "--json", "--admin-token", "viewer-token-77aa"], { env: admin });
        expect((JSON.parse(listed.stdout) as { topics: Array<{ name: string }> }).topics.map((t) => t.name)).toEqual(["secured"]);

        const denied = await polywire(["topic", "delete", "secured", "--admin-token", "viewer-token-77aa"], { env: admin });
        expect([denied.code, denied.stderr]).toEqual([8, expect.stringContaining("ERROR_CODE_NOT_AUTHORIZED")]);
        expect(denied.stderr).toContain("admin role");
        expect(denied.stderr).not.toContain("viewer-token-77aa");
      } finally {
        child.child.kill("SIGTERM");
        expect(await child.exited).toBe(0);
      }
      writeFileSync(config, JSON.stringify({ memory: true, adminAuth: { tokens: [{ principal: "ops", role: "root", token: "x" }] } }));
      const badRole = await polywire(["broker", "--config", config]);
      expect([badRole.code, badRole.stderr]).toEqual([2, expect.stringContaining("adminAuth.tokens[0].role must be \"viewer\"")]);
      writeFileSync(config, JSON.stringify({ memory: true, adminAuth: { tokens: [{ principal: "ops", role: "admin", token: "x", tokenFile: "ops.token" }] } }));
      expect((await polywire(["broker", "--config", config])).stderr).toContain("needs exactly one of token and tokenFile");
      writeFileSync(config, JSON.stringify({ memory: true, adminAuth: { tokens: [{ principal: "ops", role: "admin", tokenFile: "missing.token" }] } }));
      expect((await polywire(["broker", "--config", config])).stderr).toContain("tokenFile: cannot read");
    } finally {
      dir.remove();
    }
  });
});

describe("polywire broker --config: storage housekeeping", () => {
  it("PW-IDEM-011: producerIdExpirationMs and retentionCheckIntervalMs reach the broker; bad values are usage errors", async () => {
    const dir = tempDir("cli-expiry");
    try {
      const config = join(dir.path, "broker.json");
      writeFileSync(config, JSON.stringify({ memory: true, listen: ["tcp://127.0.0.1:0"], http: { port: 0 }, topics: ["expiring:1"], retentionCheckIntervalMs: 100, producerIdExpirationMs: 3_000 }));
      const child = await spawnBroker(["--config", config]);
      try {
        const http = /^ {2}http +(\S+)$/m.exec(child.output())?.[1] as string;
        const producerIds = async (): Promise<number> => Number(/^polywire_producer_ids (\d+)$/m.exec(await (await fetch(`${http}/metrics`)).text())?.[1]);
        const produced = await polywire(["produce", "expiring", "--broker", child.urls[0] as string], { input: "one\n" });
        expect([produced.code, produced.stderr]).toEqual([0, ""]);
        // The expiry is long enough that a loaded machine still reads the id before it goes.
        expect(await producerIds()).toBe(1);
        const deadline = Date.now() + 20_000;
        while ((await producerIds()) !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await producerIds()).toBe(0);
      } finally {
        child.child.kill("SIGTERM");
        expect(await child.exited).toBe(0);
      }
      writeFileSync(config, JSON.stringify({ memory: true, producerIdExpirationMs: 0 }));
      const bad = await polywire(["broker", "--config", config]);
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining("storage.producerIdExpirationMs: producerIdExpirationMs must be -1 (never) or an integer from 1")]);
    } finally {
      dir.remove();
    }
  });
});
