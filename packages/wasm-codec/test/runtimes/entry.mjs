// Runs the loader suite against the built package (dist/) in Node, Deno or
// Bun: `<runtime> test/runtimes/entry.mjs <async|sync>`. Prints one
// `RESULTS <json>` line for run.mjs.
import * as codec from "../../dist/index.js";
import { runLoaderSuite } from "../loader-suite.js";

const mode = globalThis.process?.argv?.[2] ?? globalThis.Deno?.args?.[0] ?? "async";
const init = mode === "sync" ? async () => codec.initSync() : () => codec.init();
const results = await runLoaderSuite(codec, { init });
console.log(`RESULTS ${JSON.stringify(results)}`);
