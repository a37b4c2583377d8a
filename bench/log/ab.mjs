#!/usr/bin/env node
// Before/after of a client change in one run: the @polywire/runtime sources
// of a git revision against the working tree's, both loaded in this process
// and talking to the same broker (memory storage, through the CLI), the two
// interleaved in every round.
//
//   node --expose-gc bench/log/ab.mjs --base <git-revision> [--runs 6] [--seconds 2]
//                                     [--only p100,p1k,c,cb,lat]
//
// p100 / p1k: produce 100 B / 1 KiB records (send per record, acks leader);
// c / cb: consume 200 000 stored 100 B records per record / with batches();
// lat: produce-ack p50 in µs of one 100 B record in flight (linger 0, acks
// leader), as run.mjs's latency section measures it.
// Prints min / median / max per side (records/s; µs for lat) and the ratio of medians.
import { join } from "node:path";
import { fillTopics, interleave, prepare } from "./ab-common.mjs";

const { revision, copy, runs, runMs, only, remove } = prepare({ name: "ab", sources: "packages/ts-runtime/src", only: "p100,p1k,c,cb" });
const servers = await import("./servers.mjs");
const runtimes = {
  [revision]: await import(join(copy, "packages/ts-runtime/src/index.ts")),
  "working tree": await import("@polywire/runtime"),
};

const dir = await servers.scratch("ab");
const broker = await servers.startPolywire({ storage: "memory", socketDir: dir });
const { createAdminClient } = await import("@polywire/runtime/admin");
const admin = createAdminClient(broker.http);
const sides = {};
try {
  for (const [name, runtime] of Object.entries(runtimes)) sides[name] = { client: await runtime.connect(broker.tcp), admin };
  await fillTopics(sides["working tree"].client, admin);
  await interleave({ sides, only, runs, runMs, label: "" });
} finally {
  for (const side of Object.values(sides)) await side.client.close();
  await admin.close();
  await broker.stop();
  await servers.cleanup(dir);
  remove();
}
