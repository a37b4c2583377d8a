import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TopicService } from "@polywire/proto/admin";
import { Acks } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import { Connection } from "@polywire/runtime/connection";
import { decodeBatch, encodeBatch, init, splitBatches } from "@polywire/wasm-codec";
import { describe, expect, it } from "vitest";
import { openDiskStorage } from "../src/storage/disk.js";
import { StorageError } from "../src/storage/errors.js";
import { OPEN_FILES_MARGIN } from "../src/storage/file-pool.js";
import { tempDir } from "./helpers.js";
import { makeBatch, recordsOf, tempDirectory } from "./storage-fixtures.js";

/**
 * Issue 12, item 2: a broker must not need one file descriptor per
 * partition. These tests run a real broker process (scripts/fd-child.ts)
 * under a real `ulimit -n`, so running out of descriptors is the kernel's
 * EMFILE, not a simulation.
 */

const packageRoot = new URL("..", import.meta.url).pathname;
const text = new TextEncoder();
const decoder = new TextDecoder();

/** The process's file-descriptor limit in the tests. */
const ULIMIT = 256;
/** The storage setting under it: far below, so sockets and Node's own descriptors fit beside it. */
const MAX_OPEN_FILES = 64;
/** The admin keep-alive connection and data-plane connections the broker may not have closed yet. */
const SOCKETS = 4;
/** 50 topics × 100 partitions: far past both. */
const TOPICS = 50;
const PARTITIONS = 100;

interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly tcpUrl: string;
  readonly adminUrl: string;
  readonly startMs: number;
  /** Sends one command line and resolves with the child's one-line answer. */
  command(line: string): Promise<string>;
  /** The child's next line (a late answer). */
  next(): Promise<string>;
  /** Open descriptors of the child now, from /proc. */
  fds(): Promise<number>;
  stop(signal: "SIGTERM" | "SIGKILL"): Promise<number | string>;
}

async function startChild(directory: string, maxOpenFiles = MAX_OPEN_FILES): Promise<Child> {
  // `exec` so that the ulimit applies to the broker process itself and its
  // pid is the one whose descriptors are counted.
  const script = join(packageRoot, "scripts", "fd-child.ts");
  const child = spawn("sh", ["-c", `ulimit -n ${ULIMIT} && exec "$0" "$@"`, process.execPath, "--conditions=@polywire/source", "--import", "tsx", script, directory, String(maxOpenFiles)], {
    cwd: packageRoot,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffered = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      const next = waiting.shift();
      if (next === undefined) lines.push(line);
      else next(line);
    }
  });
  const nextLine = (): Promise<string> =>
    lines.length > 0
      ? Promise.resolve(lines.shift() as string)
      : new Promise<string>((resolve, reject) => {
          waiting.push(resolve);
          void exited.then((code) => reject(new Error(`broker exited with ${code}:\n${stderr}`)));
        });
  const ready = (await nextLine()).split(" ");
  expect(ready[0], stderr).toBe("ready");
  return {
    process: child,
    tcpUrl: ready[1] as string,
    adminUrl: ready[2] as string,
    startMs: Number(ready[3]),
    command: (line) => {
      child.stdin.write(`${line}\n`);
      return nextLine();
    },
    next: nextLine,
    fds: async () => (await readdir(`/proc/${child.pid}/fd`)).length,
    stop: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

function topicName(t: number): string {
  return `fds-${String(t).padStart(3, "0")}`;
}

/** Produces one record `<round>:<topic>/<partition>` to every partition, all in flight at once on one connection. */
async function produceEverywhere(url: string, round: number): Promise<void> {
  await using conn = await Connection.connect(url);
  const calls: Promise<unknown>[] = [];
  for (let t = 0; t < TOPICS; t++) {
    for (let p = 0; p < PARTITIONS; p++) {
      const batch = encodeBatch([{ value: text.encode(`${round}:${topicName(t)}/${p}`) }]);
      calls.push(conn.call(FrameKind.PRODUCE_REQUEST, { topic: topicName(t), partition: p, acks: Acks.LEADER }, batch));
    }
  }
  const results = (await Promise.all(calls)) as { message: { baseOffset: bigint } }[];
  for (const result of results) expect(result.message.baseOffset).toBe(BigInt(round));
}

/** Every record of every partition, as value texts per "topic/partition". */
async function readEverything(url: string): Promise<Map<string, string[]>> {
  await using conn = await Connection.connect(url);
  const out = new Map<string, string[]>();
  await Promise.all(
    Array.from({ length: TOPICS }, async (_, t) => {
      const partitions = Array.from({ length: PARTITIONS }, (__, p) => ({ topic: topicName(t), partition: p, offset: 0n }));
      const response = await conn.call(FrameKind.FETCH_REQUEST, { partitions, maxBytes: 1 << 20 });
      let at = 0;
      for (const result of response.message.partitions as { topic: string; partition: number; errorCode: number; recordsSize: number }[]) {
        expect(result.errorCode).toBe(0);
        const section = response.payload.subarray(at, at + result.recordsSize);
        at += result.recordsSize;
        const values = splitBatches(section).flatMap((b) => decodeBatch(b).records.map((r) => decoder.decode(r.value ?? undefined)));
        out.set(`${result.topic}/${result.partition}`, values);
      }
    }),
  );
  return out;
}

function expectRounds(stored: Map<string, string[]>, rounds: number): void {
  expect(stored.size).toBe(TOPICS * PARTITIONS);
  for (let t = 0; t < TOPICS; t++) {
    for (let p = 0; p < PARTITIONS; p++) {
      const key = `${topicName(t)}/${p}`;
      expect(stored.get(key), key).toEqual(Array.from({ length: rounds }, (_, r) => `${r}:${key}`));
    }
  }
}

describe("file descriptors (issue 12: one per partition)", () => {
  it(
    `a broker under ulimit -n ${ULIMIT} creates ${TOPICS * PARTITIONS} partitions, writes to each, restarts cleanly and after SIGKILL, and reads every record back, never holding more than storage.maxOpenFiles segment files`,
    { timeout: 600_000 },
    async () => {
      await init();
      const dir = tempDir("fds");
      let child: Child | null = null;
      try {
        child = await startChild(dir.path);
        // Descriptors of an idle broker: Node's own, the listeners, the offsets journal.
        const idle = await child.fds();
        const transport = createConnectTransport({ baseUrl: child.adminUrl, httpVersion: "1.1" });
        const topics = createClient(TopicService, transport);
        for (let t = 0; t < TOPICS; t++) await topics.createTopic({ name: topicName(t), partitions: PARTITIONS });
        await produceEverywhere(child.tcpUrl, 0);
        // Storage's descriptors beside an idle broker's: at most the setting
        // plus the documented margin (directory reads inside the libuv
        // pool), and sockets of the test's connections still closing.
        expect(await child.fds()).toBeLessThanOrEqual(idle + MAX_OPEN_FILES + OPEN_FILES_MARGIN + SOCKETS);
        expect(await child.stop("SIGTERM")).toBe(0);

        child = await startChild(dir.path);
        expectRounds(await readEverything(child.tcpUrl), 1);
        await produceEverywhere(child.tcpUrl, 1);
        expect(await child.fds()).toBeLessThanOrEqual(idle + MAX_OPEN_FILES + OPEN_FILES_MARGIN + SOCKETS);
        expect(await child.stop("SIGKILL")).toBe("SIGKILL");

        // After a crash every partition is recovered (its tail checked), still within the limit.
        child = await startChild(dir.path);
        const stored = await readEverything(child.tcpUrl);
        expectRounds(stored, 2);
        expect(await child.stop("SIGTERM")).toBe(0);
        child = null;
      } finally {
        await child?.stop("SIGKILL");
        dir.remove();
      }
    },
  );

  it(
    "PW-ADMIN-011 PW-ADMIN-016 PW-ERR-001: out of descriptors (real EMFILE), a create or grow is STORAGE and leaves nothing behind, an append waits for one and lands, idle files are closed to make room for appends and reads; the broker restarts with it all",
    { timeout: 120_000 },
    async () => {
      const dir = tempDir("fds-atomic");
      let child: Child | null = null;
      try {
        child = await startChild(dir.path);
        expect(await child.command("create keep 3")).toBe("ok");
        const before = await readdir(join(dir.path, "topics"));
        expect(await child.command("exhaust")).toMatch(/^exhausted \d+$/);
        expect(await child.command("create doomed 500")).toMatch(/^error STORAGE /);
        expect(await child.command("grow keep 8")).toMatch(/^error STORAGE /);
        // Nothing of the failed create on disk, in the catalog, or in the grown topic's metadata.
        expect(await readdir(join(dir.path, "topics"))).toEqual(before);
        expect(JSON.parse(await readFile(join(dir.path, "topics", "keep", "topic.json"), "utf8"))).toMatchObject({ partitions: 3 });
        expect(await child.command("list")).toBe("topics keep:3");
        // An append that finds no descriptor, and no idle file storage could
        // close for one, waits for one rather than fail: its offset is
        // given, and failing it would fence the partition until a restart.
        expect(await child.command("append keep 0 first")).toBe("started");
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(await child.command("release")).toMatch(/^released \d+$/);
        expect(await child.next()).toBe("appended keep/0 0");
        expect(await child.command("append keep 1 one")).toBe("started");
        expect(await child.next()).toBe("appended keep/1 0");
        // Out of descriptors again, with two idle logs open: storage closes
        // one to open what it needs, for appends and reads alike.
        expect(await child.command("exhaust")).toMatch(/^exhausted \d+$/);
        expect(await child.command("append keep 2 two")).toBe("started");
        expect(await child.next()).toBe("appended keep/2 0");
        for (const [p, value] of [[0, "first"], [1, "one"], [2, "two"]] as const) expect(await child.command(`read keep ${p}`)).toBe(`values ${value}`);
        expect(await child.command("release")).toMatch(/^released \d+$/);
        // The same calls succeed once descriptors are free again.
        expect(await child.command("create doomed 500")).toBe("ok");
        expect(await child.command("grow keep 8")).toBe("ok");
        expect(await child.stop("SIGTERM")).toBe(0);

        child = await startChild(dir.path);
        expect(await child.command("list")).toBe("topics doomed:500 keep:8");
        expect(await child.command("read keep 0")).toBe("values first");
        expect(await child.stop("SIGTERM")).toBe(0);
        child = null;
      } finally {
        await child?.stop("SIGKILL");
        dir.remove();
      }
    },
  );
});

describe("topic creation is all or nothing on disk (PW-ADMIN-011, PW-ADMIN-016)", () => {
  async function expectStorageError(promise: Promise<unknown>): Promise<StorageError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe("STORAGE");
    return error as StorageError;
  }

  it("PW-ADMIN-011 PW-ERR-001: a create refused at its last step (the rename into place) is STORAGE, leaves no directory and no topic, before and after a restart", async () => {
    await using dir = await tempDirectory();
    const topics = join(dir.path, "topics");
    let storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    await storage.createTopic("kept", { partitions: 2 });
    // Something that is not a directory where the topic's would go: the
    // staging directory is complete, and the file system refuses the rename.
    await writeFile(join(topics, "blocked"), "not a topic");
    const error = await expectStorageError(storage.createTopic("blocked", { partitions: 1000 }));
    expect(error.message).toContain("blocked");
    expect((await readdir(topics)).sort()).toEqual(["blocked", "kept"]);
    expect(storage.listTopics().map((t) => t.name)).toEqual(["kept"]);
    await rm(join(topics, "blocked"));
    await storage.close();

    storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    try {
      expect(storage.listTopics().map((t) => t.name)).toEqual(["kept"]);
      expect((await storage.createTopic("blocked", { partitions: 1000 })).partitions).toBe(1000);
    } finally {
      await storage.close();
    }
  });

  it("PW-ADMIN-016 PW-ERR-001: growing a topic whose metadata cannot be written is STORAGE and changes nothing, before and after a restart", async () => {
    await using dir = await tempDirectory();
    const topicDir = join(dir.path, "topics", "grow");
    let storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    await storage.createTopic("grow", { partitions: 2 });
    const b = makeBatch({ values: ["before"] });
    await storage.partition("grow", 1).append(b.bytes, b.header);
    // A directory where the new metadata's temporary file must be written.
    await mkdir(join(topicDir, "topic.json.tmp"));
    await expectStorageError(storage.alterTopic("grow", { partitions: 5, set: { "retention.ms": "1000" } }));
    expect(storage.topic("grow")).toMatchObject({ partitions: 2, overrides: {} });
    expect(() => storage.partition("grow", 2)).toThrow(StorageError);
    expect(JSON.parse(await readFile(join(topicDir, "topic.json"), "utf8"))).toMatchObject({ partitions: 2 });
    await rm(join(topicDir, "topic.json.tmp"), { recursive: true });
    await storage.close();

    storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    try {
      expect(storage.topic("grow").partitions).toBe(2);
      expect(recordsOf(await storage.partition("grow", 1).read(0n, 1 << 20))).toEqual([[0n, "before"]]);
      expect((await storage.alterTopic("grow", { partitions: 5 })).partitions).toBe(5);
    } finally {
      await storage.close();
    }
  });

  it("PW-ADMIN-011: creating and reopening many partitions touches no partition file until one is written", async () => {
    await using dir = await tempDirectory();
    let storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    await storage.createTopic("wide", { partitions: 10_000 });
    expect(await readdir(join(dir.path, "topics", "wide"))).toEqual(["topic.json"]);
    const b = makeBatch({ values: ["one"] });
    await storage.partition("wide", 9_999).append(b.bytes, b.header);
    await storage.close();
    expect((await readdir(join(dir.path, "topics", "wide"))).sort()).toEqual(["9999", "topic.json"]);

    storage = await openDiskStorage({ directory: dir.path, retentionCheckIntervalMs: 0 });
    try {
      expect(storage.topic("wide").partitions).toBe(10_000);
      expect(storage.partition("wide", 0).highWatermark()).toBe(0n);
      expect(recordsOf(await storage.partition("wide", 9_999).read(0n, 1 << 20))).toEqual([[0n, "one"]]);
    } finally {
      await storage.close();
    }
  });
});
