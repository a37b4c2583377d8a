#!/usr/bin/env node
// Before/after of a change to the codec, or to codec, core, runtime and
// broker together, in one run: the @polywire/wasm-codec (sources and .wasm),
// @polywire/core (from when it exists), @polywire/runtime and broker sources
// of a git revision against the working tree's. Each side is a broker
// process (memory storage, TCP; broker-at.mjs) and a client in this process;
// the base side's runtime and broker import the base codec, core and runtime
// (codec-hook.mjs). The two sides are interleaved in every round with
// ab.mjs's tests.
//
//   node --expose-gc bench/log/ab-stack.mjs --base <git-revision> [--runs 6] [--seconds 2]
//                                           [--only p100,p1k,c,cb,lat]
import { join } from "node:path";
import { fillTopics, interleave, prepare, root } from "./ab-common.mjs";

const { revision, copy, runs, runMs, only, remove } = prepare({
  name: "ab-stack",
  sources: "packages/wasm-codec/src packages/wasm-codec/dist/polywire_codec.wasm packages/core/src packages/ts-runtime/src packages/broker/src",
  only: "p100,p1k,c,cb",
});
process.env.POLYWIRE_CODEC_AT = copy;
await import("./codec-hook.mjs");
const servers = await import("./servers.mjs");
const runtimes = {
  [revision]: await import(join(copy, "packages/ts-runtime/src/index.ts")),
  "working tree": await import("@polywire/runtime"),
};
const hook = ["--import", join(root, "bench/log/codec-hook.mjs")];

const brokers = {};
const sides = {};
try {
  brokers[revision] = await servers.startBrokerAt({ entry: join(copy, "packages/broker/src/index.ts"), nodeArgs: hook });
  brokers["working tree"] = await servers.startBrokerAt({ entry: join(root, "packages/broker/src/index.ts") });
  const { createAdminClient: admin } = await import("@polywire/runtime/admin");
  for (const [name, broker] of Object.entries(brokers)) {
    sides[name] = { client: await runtimes[name].connect(broker.tcp), admin: admin(broker.http) };
    await fillTopics(sides[name].client, sides[name].admin);
  }
  await interleave({ sides, only, runs, runMs, label: "stack " });
} finally {
  for (const side of Object.values(sides)) {
    await side.client.close();
    await side.admin.close();
  }
  for (const broker of Object.values(brokers)) await broker.stop();
  remove();
}
