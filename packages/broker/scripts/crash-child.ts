/**
 * The victim of the storage crash test (test/storage-crash.test.ts): opens
 * disk storage in the directory given, appends idempotent batches with
 * durability "synced" (ACKS_ALL) to topic "crash" with several appends in
 * flight, and appends one line per acknowledged batch to the acks file
 * until it is killed. The lines go to a file with a synchronous write, not
 * to stdout: a pipe is written asynchronously once it is full (a loaded
 * parent reads late), and what Node still queues is lost with SIGKILL, so
 * the test would miss acks the storage did give. A write(2) that returned
 * survives SIGKILL.
 *
 *   stdout:    ready <producerId> <producerEpoch>
 *   acks file: ack <cycle> <n> <records> <baseSequence> <baseOffset>
 */
import { appendFileSync } from "node:fs";
import { encodeBatch, verifyBatch } from "@polywire/wasm-codec";
import { openDiskStorage } from "../src/storage/disk.js";

const [directory, cycleText, acksFile] = process.argv.slice(2);
if (directory === undefined || cycleText === undefined || acksFile === undefined) {
  process.stderr.write("usage: crash-child <directory> <cycle> <acks-file>\n");
  process.exit(2);
}
const cycle = Number(cycleText);
// Below the idempotence window (5, PW-IDEM-007), so the last acknowledged
// batch is always among the last 5 stored and its retry must be a duplicate.
const IN_FLIGHT = 4;

const storage = await openDiskStorage({ directory, retentionCheckIntervalMs: 0 });
if (!storage.listTopics().some((t) => t.name === "crash")) {
  await storage.createTopic("crash", { partitions: 1, config: { "fsync.policy": "always", "segment.bytes": String(256 * 1024), "retention.ms": "-1" } });
}
const log = storage.partition("crash", 0);
const { producerId, producerEpoch } = await storage.initProducer(-1n, -1);
process.stdout.write(`ready ${producerId} ${producerEpoch}\n`);

let n = 0;
let sequence = 0;
async function appender(): Promise<void> {
  for (;;) {
    const id = n++;
    const count = 1 + Math.floor(Math.random() * 20);
    const size = 10 + Math.floor(Math.random() * 2000);
    const records = Array.from({ length: count }, (_, i) => ({ value: new TextEncoder().encode(`c${cycle}-${id}-${i}-`.padEnd(size, "x")) }));
    const baseSequence = sequence;
    sequence += count;
    const batch = encodeBatch(records, { producerId, producerEpoch, baseSequence });
    const result = await log.append(batch, verifyBatch(batch), { durability: "synced" });
    appendFileSync(acksFile, `ack ${cycle} ${id} ${count} ${baseSequence} ${result.baseOffset}\n`);
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, appender));
