// Apache Kafka in the log-plane benchmark (issue 15), on the single node of
// bench/peers/kafka.mjs: KafkaJS 2.2.4 (what a Node user picks today) for
// batched produce and `eachBatch` consume, and Kafka's own Java
// ProducerPerformance / ConsumerPerformance (kafka-producer-perf-test,
// kafka-consumer-perf-test) as the native ceiling, each run its own JVM.
import { Kafka, logLevel } from "kafkajs";
import { runTool } from "../peers/kafka.mjs";
import { pump } from "./measure.mjs";

let topicCounter = 0;
let groupCounter = 0;

/**
 * The Java producer's settings besides acks: Polywire's producer defaults
 * (64 KiB batches, linger 5 ms, no compression). Idempotence is Kafka's
 * default: on with acks all, off with acks 1.
 */
const JAVA_PRODUCER = ["batch.size=65536", "linger.ms=5", "compression.type=none"];

/** "yyyy-MM-dd HH:mm:ss:SSS" (ConsumerPerformance's default date format) in ms; only differences are used. */
function parseStamp(text) {
  const m = /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+):(\d+)$/.exec(text.trim());
  if (m === null) throw new Error(`ConsumerPerformance: cannot read the time ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, ms] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

export class KafkaTarget {
  #kafka;
  #admin;
  #topics = [];

  /** `kafka` is what startKafka() resolved with. */
  constructor(kafka) {
    this.bootstrap = kafka.bootstrap;
    this.classpath = kafka.classpath;
  }

  async open() {
    // Quiet: KafkaJS logs every retried answer (a new topic's NOT_LEADER) as
    // an error; what fails for good is thrown and fails the run.
    this.#kafka = new Kafka({ clientId: "log-bench", brokers: [this.bootstrap], logLevel: logLevel.NOTHING });
    this.#admin = this.#kafka.admin();
    await this.#admin.connect();
  }

  async close() {
    await this.dropTopics();
    await this.#admin?.disconnect();
  }

  /**
   * A new topic of `partitions` partitions (replication factor 1), each
   * answering as leader. A produce sent before the node acts as leader gets
   * NOT_LEADER, and KafkaJS's retry of a non-idempotent send can then store
   * records twice, so the topic is ready once ListOffsets answers for every
   * partition. (KafkaJS's own `waitForLeaders` only reads metadata, and
   * lets an UNKNOWN_TOPIC_OR_PARTITION escape as an uncaught exception
   * when the metadata is slow to name the topic.)
   */
  async topic(prefix, partitions = 1) {
    const name = `${prefix}-${process.pid}-${++topicCounter}`;
    await this.#admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false });
    this.#topics.push(name);
    await this.count(name);
    return name;
  }

  /** Deletes the topics this target made. */
  async dropTopics() {
    const topics = this.#topics.splice(0);
    if (topics.length > 0) await this.#admin.deleteTopics({ topics });
  }

  /**
   * Records the topic holds: the sum of its partitions' high watermarks.
   * Retried for up to 30 s while Kafka answers with a retriable error (a
   * new topic is unknown, then NOT_LEADER, for a moment; KafkaJS's admin
   * does not retry ListOffsets).
   */
  async count(topic) {
    for (let attempt = 1; ; attempt++) {
      try {
        const offsets = await this.#admin.fetchTopicOffsets(topic);
        return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      } catch (error) {
        if (error?.retriable !== true || attempt === 300) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * KafkaJS produce throughput: `send` of 1,024 records at a time (acks 1 or
   * -1 for all; KafkaJS's default partitioner spreads unkeyed records), at
   * most `windowRecords` unacknowledged. A producer per run: KafkaJS keeps
   * refreshing metadata for every topic a producer ever sent to, and the
   * topics of earlier runs are deleted.
   */
  async produce({ topic, value, durationMs, windowRecords, acks }) {
    const messages = new Array(1024).fill({ value: Buffer.from(value) });
    const producer = this.#kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let result;
    try {
      result = await pump({
        durationMs,
        windowRecords,
        sliceRecords: messages.length,
        slice: () => producer.send({ topic, acks, messages }),
      });
    } finally {
      await producer.disconnect();
    }
    const stored = await this.count(topic);
    if (stored !== result.records) throw new Error(`KafkaJS: ${result.records} records acknowledged, ${stored} stored`);
    return result;
  }

  /**
   * Kafka's Java producer through ProducerPerformance (its own JVM):
   * `records` records of `valueBytes` bytes as fast as it can, of which the
   * first `warmupRecords` are left out of the rate (the tool's steady-state
   * figure: the JVM's JIT warm-up is not billed, as the Node clients are
   * measured after a warm-up run). Checks the topic holds every record.
   */
  async javaProduce({ topic, records, warmupRecords, valueBytes, acks }) {
    const before = await this.count(topic);
    const { stdout } = await runTool({
      classpath: this.classpath,
      main: "org.apache.kafka.tools.ProducerPerformance",
      args: [
        "--bootstrap-server", this.bootstrap, "--topic", topic, "--num-records", String(records),
        "--record-size", String(valueBytes), "--throughput", "-1", "--warmup-records", String(warmupRecords),
        "--command-property", `acks=${acks}`, ...JAVA_PRODUCER,
      ],
    });
    // With warm-up records the tool prints a steady-state line after the whole run's.
    const line = warmupRecords > 0 ? /^(\d+) steady state records sent, ([\d.]+) records\/sec/m : /^(\d+) records sent, ([\d.]+) records\/sec/m;
    const steady = line.exec(stdout);
    if (steady === null) throw new Error(`ProducerPerformance printed no result:\n${stdout}`);
    const stored = (await this.count(topic)) - before;
    if (stored !== records) throw new Error(`ProducerPerformance: ${records} records sent, ${stored} stored`);
    const rate = Number(steady[2]);
    return { records: Number(steady[1]), seconds: Number(steady[1]) / rate, rate };
  }

  /** Stores `records` records of `valueBytes` bytes in a new topic (untimed setup for consume runs). */
  async fill(prefix, { partitions, records, valueBytes }) {
    const topic = await this.topic(prefix, partitions);
    await this.javaProduce({ topic, records, warmupRecords: 0, valueBytes, acks: "1" });
    return topic;
  }

  /**
   * KafkaJS consume throughput with `eachBatch`: passes over the `records`
   * records of `topic`, each with a new consumer group from the beginning,
   * until `durationMs` of fetching passed. A pass is timed from its group
   * join to its last record, as ConsumerPerformance's fetch rate leaves out
   * the join. Every value's length is read.
   */
  async consume({ topic, records, durationMs }) {
    let total = 0;
    let bytes = 0;
    let fetchMs = 0;
    do {
      const consumer = this.#kafka.consumer({ groupId: `log-bench-${process.pid}-${++groupCounter}` });
      let joined;
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined ??= performance.now();
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let seen = 0;
      let done;
      const finished = new Promise((resolve) => {
        done = resolve;
      });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) bytes += m.value.byteLength;
          seen += batch.messages.length;
          if (seen >= records) done(performance.now());
        },
      });
      const end = await finished;
      await consumer.disconnect();
      if (seen !== records) throw new Error(`KafkaJS: read ${seen} records of ${records}`);
      if (joined === undefined) throw new Error("KafkaJS: the consumer never reported its group join");
      fetchMs += end - joined;
      total += seen;
    } while (fetchMs < durationMs);
    const seconds = fetchMs / 1000;
    return { records: total, bytes, seconds, rate: total / seconds };
  }

  /**
   * Kafka's Java consumer through ConsumerPerformance (its own JVM, a new
   * group): reads all `records` records of `topic`, reporting every 200 ms;
   * the rate is taken from the first report past `warmupRecords` to the
   * last report (steady state: group join and JIT warm-up left out, as for
   * the producer).
   */
  async javaConsume({ topic, records, warmupRecords }) {
    const { stdout, stderr } = await runTool({
      classpath: this.classpath,
      main: "org.apache.kafka.tools.ConsumerPerformance",
      args: [
        "--bootstrap-server", this.bootstrap, "--topic", topic, "--num-records", String(records),
        "--group", `log-bench-java-${process.pid}-${++groupCounter}`, "--timeout", "30000",
        "--show-detailed-stats", "--reporting-interval", "200", "--hide-header",
      ],
    });
    // It stops early only after --timeout without records, and says so.
    if (/Exiting before consuming/.test(stdout + stderr)) throw new Error(`ConsumerPerformance read fewer than ${records} records:\n${stdout}${stderr}`);
    // time, threadId, MB, MB.sec, nMsg (cumulative), nMsg.sec, ...
    const reports = stdout.split("\n").map((line) => line.split(", ")).filter((f) => f.length >= 6)
      .map((f) => ({ at: parseStamp(f[0]), consumed: Number(f[4]) }));
    const from = reports.find((r) => r.consumed >= warmupRecords);
    const to = reports[reports.length - 1];
    if (from === undefined || to === from || to.consumed - from.consumed < records / 4) {
      throw new Error(`ConsumerPerformance: too few reports past ${warmupRecords} records to time a steady state:\n${stdout}`);
    }
    const seconds = (to.at - from.at) / 1000;
    return { records: to.consumed - from.consumed, seconds, rate: (to.consumed - from.consumed) / seconds };
  }
}
