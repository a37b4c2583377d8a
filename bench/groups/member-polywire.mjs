// One member of a Polywire consumer group in its own process, driven by
// bench/groups/rebalance.mjs over stdin/stdout (JSON lines; see
// members.mjs). argv: <broker url> <group> <topic> <assignor>
import { createInterface } from "node:readline";
import { connect } from "@polywire/runtime";

const [url, group, topic, assignor] = process.argv.slice(2);
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const now = () => performance.timeOrigin + performance.now();

const assigned = new Set();
let mark = { id: -1, t: Infinity };
let reported = new Set();
let consumer;

function report() {
  say({ assigned: [...assigned].sort((a, b) => a - b) });
}

// Connected before joining: the benchmark times the group protocol, not a cold process's first connection.
const client = await connect(url, { clientId: "rebalance-bench" });

async function join() {
  consumer = client.consumer({
    group,
    topics: [topic],
    assignor,
    autoOffsetReset: "latest",
    onAssigned: (parts) => {
      for (const tp of parts) assigned.add(tp.partition);
      report();
    },
    onRevoked: (parts) => {
      for (const tp of parts) assigned.delete(tp.partition);
      report();
    },
    onLost: (parts) => {
      for (const tp of parts) assigned.delete(tp.partition);
      report();
    },
  });
  for await (const record of consumer) {
    const t = now();
    if (t >= mark.t && !reported.has(record.partition)) {
      reported.add(record.partition);
      say({ first: mark.id, p: record.partition, t });
    }
  }
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
      await consumer?.close();
      await client.close();
      say({ closed: true });
      process.exit(0);
    })();
  }
});
lines.on("close", () => process.exit(0));
say({ ready: true });
