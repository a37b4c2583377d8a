// One member of a Kafka consumer group through KafkaJS 2.2.4 (the classic
// group protocol; KafkaJS has no KIP-848 support) in its own process,
// driven by bench/groups/rebalance.mjs over stdin/stdout (JSON lines, as
// member-polywire.mjs). argv: <bootstrap> <group> <topic> <sessionTimeoutMs> <heartbeatIntervalMs>
import { createInterface } from "node:readline";
import kafkajs from "kafkajs";

const { Kafka, logLevel } = kafkajs;
const [bootstrap, group, topic, sessionTimeout, heartbeatInterval] = process.argv.slice(2);
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const now = () => performance.timeOrigin + performance.now();

let mark = { id: -1, t: Infinity };
let reported = new Set();

// Connected before joining: the benchmark times the group protocol, not a cold process's first connection.
const kafka = new Kafka({ clientId: "rebalance-bench", brokers: [bootstrap], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: Number(sessionTimeout),
  heartbeatInterval: Number(heartbeatInterval),
  rebalanceTimeout: 30_000,
  maxWaitTimeInMs: 100,
});
await consumer.connect();

async function join() {
  // The classic protocol is eager: a rebalance takes every partition away
  // from every member until the new assignment arrives.
  consumer.on(consumer.events.REBALANCING, () => say({ assigned: [] }));
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    say({ assigned: [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b) });
  });
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const t = now();
      if (t >= mark.t && !reported.has(batch.partition) && batch.messages.length > 0) {
        reported.add(batch.partition);
        say({ first: mark.id, p: batch.partition, t });
      }
    },
  });
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const command = JSON.parse(line);
  if (command.join === true) {
    join().catch((error) => {
      say({ error: String(error?.stack ?? error) });
      process.exit(1);
    });
  } else if (command.mark !== undefined) {
    mark = { id: command.mark, t: command.t };
    reported = new Set();
  } else if (command.close === true) {
    void (async () => {
      await consumer.disconnect();
      say({ closed: true });
      process.exit(0);
    })();
  }
});
lines.on("close", () => process.exit(0));
say({ ready: true });
