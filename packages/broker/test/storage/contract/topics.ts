import { expect, it } from "vitest";
import { makeBatch, tempDirectory } from "../../storage-fixtures.js";
import { commit, expectCode, offsetBook, withStorage, type EngineUnderTest } from "./support.js";

/** Topics (create, alter, delete, typed errors, change listeners), the group offset log, close. */
export function topicContract(engine: EngineUnderTest): void {
  it("topics: create, list, describe, alter config, grow partitions, delete, with typed errors", async () => {
    await withStorage(engine, async (storage) => {
      const created = await storage.createTopic("orders", { partitions: 2, config: { "retention.ms": "1000" } });
      expect(created.partitions).toBe(2);
      expect(created.config["retention.ms"]).toBe("1000");
      expect(created.config["segment.bytes"]).toBe("1073741824");
      expect(created.overrides).toEqual({ "retention.ms": "1000" });
      await storage.createTopic("a", { partitions: 1 });
      expect(storage.listTopics().map((t) => t.name)).toEqual(["a", "orders"]);

      await expectCode(storage.createTopic("orders", { partitions: 1 }), "TOPIC_ALREADY_EXISTS");
      await expectCode(storage.createTopic("bad/name", { partitions: 1 }), "INVALID_TOPIC");
      await expectCode(storage.createTopic("..", { partitions: 1 }), "INVALID_TOPIC");
      await expectCode(storage.createTopic("x", { partitions: 0 }), "INVALID_ARGUMENT");
      await expectCode(storage.createTopic("x", { partitions: 1, config: { "retention.mss": "1" } }), "INVALID_CONFIG");
      await expectCode(storage.createTopic("x", { partitions: 1, config: { "fsync.policy": "sometimes" } }), "INVALID_CONFIG");
      await expectCode(storage.createTopic("x", { partitions: 1, config: { "segment.bytes": "12abc" } }), "INVALID_CONFIG");
      expect(storage.listTopics().map((t) => t.name)).toEqual(["a", "orders"]);

      const b = makeBatch({ values: ["keep"] });
      await storage.partition("orders", 1).append(b.bytes, b.header);
      const grown = await storage.alterTopic("orders", { partitions: 5, set: { "segment.bytes": "2048" }, reset: ["retention.ms"] });
      expect(grown.partitions).toBe(5);
      expect(grown.overrides).toEqual({ "segment.bytes": "2048" });
      expect(grown.config["retention.ms"]).toBe("604800000");
      expect(storage.partition("orders", 1).highWatermark()).toBe(1n);
      expect(storage.partition("orders", 4).highWatermark()).toBe(0n);
      await expectCode(storage.alterTopic("orders", { partitions: 3 }), "INVALID_ARGUMENT");
      await expectCode(storage.alterTopic("orders", { set: { "max.message.bytes": "-5" } }), "INVALID_CONFIG");
      await expectCode(storage.alterTopic("nope", { partitions: 3 }), "UNKNOWN_TOPIC");
      expect(storage.topic("orders").partitions).toBe(5);

      await expectCode(() => storage.partition("nope", 0), "UNKNOWN_TOPIC");
      await expectCode(() => storage.partition("orders", 5), "UNKNOWN_PARTITION");
      await expectCode(() => storage.partition("orders", 0.5), "UNKNOWN_PARTITION");

      const handle = storage.partition("orders", 1);
      const waiting = handle.waitForData(1n);
      await storage.deleteTopic("orders");
      expect(await waiting).toBe(false);
      await expectCode(handle.append(b.bytes, b.header), "UNKNOWN_TOPIC");
      await expectCode(() => storage.topic("orders"), "UNKNOWN_TOPIC");
      await expectCode(storage.deleteTopic("orders"), "UNKNOWN_TOPIC");
      const again = await storage.createTopic("orders", { partitions: 1 });
      expect(again.partitions).toBe(1);
      expect(storage.partition("orders", 0).highWatermark()).toBe(0n);
    });
  });

  it("PW-ADMIN-010: a topic with the longest allowed name (249 characters) can be deleted, and stays deleted after reopening", async () => {
    await using dir = await tempDirectory();
    const name = `t${"x".repeat(248)}`;
    const first = await engine.open(dir.path);
    await first.createTopic(name, { partitions: 2 });
    const b = makeBatch({ values: ["v"] });
    await first.partition(name, 0).append(b.bytes, b.header);
    await first.deleteTopic(name);
    expect(first.listTopics().map((t) => t.name)).toEqual([]);
    await first.close();
    const second = await engine.open(dir.path);
    try {
      expect(second.listTopics().map((t) => t.name)).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it("PW-GROUP-040 PW-GROUP-046: the group offset log takes commits and deletions in order; topic changes reach listeners", async () => {
    await withStorage(engine, async (storage) => {
      const book = offsetBook(storage);
      const changes: string[] = [];
      const stop = storage.onTopicChange((topic, change) => changes.push(`${change} ${topic}`));
      await storage.createTopic("t", { partitions: 2 });
      await storage.alterTopic("t", { partitions: 3 });
      await storage.alterTopic("t", { set: { "retention.ms": "5" } });
      await book.write(commit("g1", [["t", 0, 10n, "m"], ["t", 1, 20n, ""]]));
      await book.write(commit("g2", [["t", 0, 5n, ""], ["u", 0, 1n, ""]]));
      await book.write(commit("g1", [["t", 0, 11n, ""]]));
      expect(book.all("g1").map((o) => [o.topic, o.partition, o.offset, o.metadata])).toEqual([["t", 0, 11n, ""], ["t", 1, 20n, ""]]);
      await book.write({ kind: "delete-topic", topic: "t" });
      await storage.deleteTopic("t");
      stop();
      await storage.createTopic("after", { partitions: 1 });
      expect(changes).toEqual(["created t", "grown t", "deleted t"]);
      expect([...book.groups()]).toEqual(["g2"]);
      await book.write({ kind: "delete-group", groupId: "g2" });
      expect([...book.groups()]).toEqual([]);
    });
  });

  it("close makes every handle answer SHUTTING_DOWN and is idempotent", async () => {
    await using dir = await tempDirectory();
    const storage = await engine.open(dir.path);
    await storage.createTopic("t", { partitions: 1 });
    const log = storage.partition("t", 0);
    const waiting = log.waitForData(0n);
    await storage.close();
    await storage.close();
    expect(await waiting).toBe(false);
    const b = makeBatch({ values: ["late"] });
    await expectCode(log.append(b.bytes, b.header), "SHUTTING_DOWN");
    await expectCode(() => storage.listTopics(), "SHUTTING_DOWN");
    await expectCode(storage.initProducer(-1n, -1), "SHUTTING_DOWN");
  });
}
