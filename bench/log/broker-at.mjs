#!/usr/bin/env node
// One Polywire broker from the sources at a path, for ab-broker.mjs: memory
// storage, a TCP listener and the admin HTTP port on 127.0.0.1. Prints
// "listen <url>", "http <url>" and "ready"; stops on SIGTERM.
//
//   node --conditions=@polywire/source --import tsx bench/log/broker-at.mjs <path to packages/broker/src/index.ts>
import { pathToFileURL } from "node:url";

const entry = process.argv[2];
if (entry === undefined) throw new Error("usage: broker-at.mjs <path to packages/broker/src/index.ts>");
const { Broker } = await import(pathToFileURL(entry).href);
const broker = await Broker.start({ listeners: ["tcp://127.0.0.1:0"], storage: { engine: "memory" }, http: { host: "127.0.0.1", port: 0 } });
console.log(`listen ${broker.urls[0]}\nhttp ${broker.httpUrl}\nready`);
process.once("SIGTERM", () => {
  broker.close().then(() => process.exit(0), () => process.exit(1));
});
