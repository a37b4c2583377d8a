import { describe, it } from "vitest";
import * as codec from "@polywire/wasm-codec";
import { loaderCases } from "./loader-suite.js";

// The same cases run in Chromium, Deno, Bun and workerd: see test/runtimes/run.mjs.
describe("loader in Node (vitest)", () => {
  for (const [name, fn] of loaderCases(codec, { init: () => codec.init() })) {
    it(name, async () => {
      await fn();
    });
  }
});
