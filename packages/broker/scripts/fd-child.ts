/**
 * A broker run by the file-descriptor tests (test/storage-fds.test.ts) and
 * benchmark (bench/storage/fds.mjs), meant to be started under a low
 * `ulimit -n`: disk storage in the directory given, a TCP listener and the
 * admin HTTP port. Prints
 *
 *   ready <tcp url> <admin url> <ms to open storage and listen>
 *
 * then answers one line per command read from stdin:
 *
 *   create <topic> <partitions>   ok | error <code> <message>   (Broker.createTopic)
 *   grow <topic> <partitions>     ok | error <code> <message>   (alterTopic)
 *   list                          topics <name>:<partitions> ...
 *   append <topic> <p> <value>    started; later, when it completes: appended <topic>/<p> <offset> | append error <code> <message>
 *   read <topic> <p>              values <v>,<v>,... | error <code> <message>
 *   exhaust                       exhausted <n>: opens /dev/null until the process is out of descriptors
 *   release                       released <n>: closes them again
 *
 * SIGTERM closes the broker (cleanly, storage included) and exits 0.
 */
import { closeSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import { decodeBatch, encodeBatch, splitBatches, verifyBatch } from "@polywire/wasm-codec";
import { Broker } from "../src/broker.js";
import { StorageError } from "../src/storage/errors.js";

const [directory, maxOpenFilesText] = process.argv.slice(2);
if (directory === undefined) {
  process.stderr.write("usage: fd-child <directory> [maxOpenFiles]\n");
  process.exit(2);
}

const started = performance.now();
const broker = await Broker.start({
  listeners: ["tcp://127.0.0.1:0"],
  http: { port: 0 },
  storage: { engine: "disk", dir: directory, ...(maxOpenFilesText === undefined ? {} : { maxOpenFiles: Number(maxOpenFilesText) }) },
});
process.stdout.write(`ready ${broker.urls[0]} ${broker.httpUrl} ${Math.round(performance.now() - started)}\n`);

const fillers: number[] = [];

function failure(error: unknown): string {
  if (error instanceof StorageError) return `error ${error.code} ${error.message}`;
  return `error UNTYPED ${error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? error.name} ${error.message}` : String(error)}`;
}

async function answer(line: string): Promise<string> {
  const [command, name, count, value] = line.trim().split(/\s+/);
  switch (command) {
    case "append": {
      // Answered twice: now, and when the append completes, which may be after later commands.
      const batch = encodeBatch([{ value: new TextEncoder().encode(value) }]);
      broker.storage
        .partition(name as string, Number(count))
        .append(batch, verifyBatch(batch))
        .then(
          (result) => process.stdout.write(`appended ${name}/${count} ${result.baseOffset}\n`),
          (error: unknown) => process.stdout.write(`append ${failure(error)}\n`),
        );
      return "started";
    }
    case "read":
      return broker.storage
        .partition(name as string, Number(count))
        .read(0n, 1 << 20)
        .then(
          (read) => `values ${read.chunks.flatMap((chunk) => splitBatches(chunk).flatMap((b) => decodeBatch(b).records.map((r) => new TextDecoder().decode(r.value ?? undefined)))).join(",")}`,
          failure,
        );
    case "create":
      return broker.createTopic(name as string, { partitions: Number(count) }).then(() => "ok", failure);
    case "grow":
      return broker.storage.alterTopic(name as string, { partitions: Number(count) }).then(() => "ok", failure);
    case "list":
      return `topics ${broker.storage.listTopics().map((t) => `${t.name}:${t.partitions}`).join(" ")}`;
    case "exhaust":
      for (;;) {
        try {
          fillers.push(openSync("/dev/null", "r"));
        } catch {
          return `exhausted ${fillers.length}`;
        }
      }
    case "release": {
      const n = fillers.length;
      for (const fd of fillers.splice(0)) closeSync(fd);
      return `released ${n}`;
    }
    default:
      return `error UNKNOWN_COMMAND ${line}`;
  }
}

// One command at a time, in order, as the test sends them.
let chain = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  chain = chain.then(async () => {
    process.stdout.write(`${await answer(line)}\n`);
  });
});

process.on("SIGTERM", () => {
  broker.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
