#!/usr/bin/env node
// Before/after of a codec change in one run: the @polywire/wasm-codec
// sources (and .wasm) of a git revision against the working tree's. The
// codec sits on both ends, so each side is a working-tree broker process
// (memory storage, TCP; broker-at.mjs) and a working-tree client in this
// process, each on its own codec; the two sides are interleaved in every
// round with ab.mjs's tests.
//
//   node --expose-gc bench/log/ab-codec.mjs --base <git-revision> [--runs 6] [--seconds 2]
//                                           [--only p100,p1k,c,cb,lat]
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fillTopics, interleave, prepare, root } from "./ab-common.mjs";

const { revision, copy, runs, runMs, only, remove } = prepare({
  name: "ab-codec",
  sources: "packages/wasm-codec/src packages/wasm-codec/dist/polywire_codec.wasm",
  only: "p100,p1k,c,cb",
});
// Working-tree runtime and broker next to the old codec; codec-hook.mjs
// points their "@polywire/wasm-codec" at it.
for (const dir of ["packages/ts-runtime/src", "packages/broker/src"]) cpSync(join(root, dir), join(copy, dir), { recursive: true });
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
  const admin = runtimes["working tree"].createAdminClient;
  for (const [name, broker] of Object.entries(brokers)) {
    sides[name] = { client: await runtimes[name].connect(broker.tcp), admin: admin(broker.http) };
    await fillTopics(sides[name].client, sides[name].admin);
  }
  await interleave({ sides, only, runs, runMs, label: "codec " });
} finally {
  for (const side of Object.values(sides)) {
    await side.client.close();
    await side.admin.close();
  }
  for (const broker of Object.values(brokers)) await broker.stop();
  remove();
}
