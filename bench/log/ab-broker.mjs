#!/usr/bin/env node
// Before/after of a broker change in one run: the broker sources
// (packages/broker/src) of a git revision and of the working tree, each run
// as its own process (memory storage, TCP), driven by one working-tree
// client process that interleaves the two in every round.
//
//   node --expose-gc bench/log/ab-broker.mjs --base <git-revision> [--runs 6] [--seconds 2]
//                                            [--only p100,p1k,c,cb,lat]
//
// The tests are ab.mjs's (bench/log/ab-common.mjs). Only the broker differs
// between the sides: both import the working tree's other packages
// (core, codec, proto). A revision from before @polywire/core, whose broker
// took its transports from the runtime, needs ab-stack.mjs instead.
import { join } from "node:path";
import { fillTopics, interleave, prepare, root } from "./ab-common.mjs";

const { revision, copy, runs, runMs, only, remove } = prepare({ name: "ab-broker", sources: "packages/broker/src", only: "p100,c,cb,lat" });
const servers = await import("./servers.mjs");
const { connect } = await import("@polywire/runtime");
const { createAdminClient } = await import("@polywire/runtime/admin");

const brokers = {};
const sides = {};
try {
  brokers[revision] = await servers.startBrokerAt({ entry: join(copy, "packages/broker/src/index.ts") });
  brokers["working tree"] = await servers.startBrokerAt({ entry: join(root, "packages/broker/src/index.ts") });
  for (const [name, broker] of Object.entries(brokers)) {
    sides[name] = { client: await connect(broker.tcp), admin: createAdminClient(broker.http) };
    await fillTopics(sides[name].client, sides[name].admin);
  }
  await interleave({ sides, only, runs, runMs, label: "broker " });
} finally {
  for (const side of Object.values(sides)) {
    await side.client.close();
    await side.admin.close();
  }
  for (const broker of Object.values(brokers)) await broker.stop();
  remove();
}
