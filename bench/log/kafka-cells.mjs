// The Kafka cells of the log-plane benchmark's interleaved rounds (issue 15):
// KafkaJS and Kafka's Java perf tools, produce and consume, for a topic of
// one or many partitions. Each cell is `{ name, describe, run(durationMs),
// before?, after? }` as measure.mjs's interleave() takes them.

/** Every Kafka cell's name (run.mjs starts Kafka only if its --filter keeps one). */
export const KAFKA_CELLS = [
  "Kafka: KafkaJS, acks 1", "Kafka: KafkaJS, acks all", "Kafka: Java producer, acks 1", "Kafka: Java producer, acks all",
  "Kafka: KafkaJS eachBatch", "Kafka: Java consumer",
];

/** The Java producer's rate, records/s, assumed for its first (warm-up) run. */
const JAVA_FIRST_GUESS = 300_000;

/**
 * Produce cells, 100 B or other `value`: KafkaJS with acks 1 and all, and
 * ProducerPerformance with acks 1 and all. A fresh topic of `partitions`
 * partitions per run, deleted after. The Java runs are sized from the rate
 * of the cell's previous run: a second of warm-up records (left out of the
 * rate) and `durationMs` worth of measured ones.
 */
export function kafkaProduceCells({ kafka, value, partitions, windowRecords, describe, label }) {
  const cells = [];
  for (const [acks, acksName] of [[1, "acks 1"], [-1, "acks all"]]) {
    let topic;
    cells.push({
      name: `Kafka: KafkaJS, ${acksName}`,
      describe,
      before: async () => {
        topic = await kafka.topic(`produce-${label}`, partitions);
      },
      run: (durationMs) => kafka.produce({ topic, value, durationMs, windowRecords, acks }),
      after: () => kafka.dropTopics(),
    });
  }
  for (const acks of ["1", "all"]) {
    let topic;
    let rate = JAVA_FIRST_GUESS;
    cells.push({
      name: `Kafka: Java producer, acks ${acks}`,
      describe,
      before: async () => {
        topic = await kafka.topic(`produce-java-${label}`, partitions);
      },
      run: async (durationMs) => {
        const warmupRecords = Math.max(100_000, Math.round(rate));
        const result = await kafka.javaProduce({ topic, records: warmupRecords + Math.round((rate * durationMs) / 1000), warmupRecords, valueBytes: value.byteLength, acks });
        rate = result.rate;
        return result;
      },
      after: () => kafka.dropTopics(),
    });
  }
  return cells;
}

/**
 * Stores the records the consume cells read (untimed): `records` for
 * KafkaJS, `javaRecords` (enough for a steady state of about a second or
 * more at the Java consumer's rate, after its warm-up) for
 * ConsumerPerformance.
 */
export async function kafkaConsumeTopics({ kafka, value, partitions, records, javaRecords, label }) {
  return {
    records,
    javaRecords,
    topic: await kafka.fill(`consume-${label}`, { partitions, records, valueBytes: value.byteLength }),
    javaTopic: await kafka.fill(`consume-java-${label}`, { partitions, records: javaRecords, valueBytes: value.byteLength }),
  };
}

/**
 * Consume cells over the topics of kafkaConsumeTopics(): KafkaJS
 * `eachBatch` and ConsumerPerformance, whose first 40 % of records are its
 * warm-up (left out of the rate).
 */
export function kafkaConsumeCells({ kafka, topics, describe }) {
  return [
    { name: "Kafka: KafkaJS eachBatch", describe, run: (durationMs) => kafka.consume({ topic: topics.topic, records: topics.records, durationMs }) },
    {
      name: "Kafka: Java consumer",
      describe,
      run: () => kafka.javaConsume({ topic: topics.javaTopic, records: topics.javaRecords, warmupRecords: Math.round(topics.javaRecords * 0.4) }),
    },
  ];
}
