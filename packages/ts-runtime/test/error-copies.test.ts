import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as source from "../src/index.js";
import { startBroker } from "./harness.js";

type Runtime = typeof source;

/** Marks every bare import external except `@polywire/core`, which each copy bundles. */
const externalExceptCore: Plugin = {
  name: "external-except-core",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path === "@polywire/core" ? undefined : { path: args.path, external: true }));
  },
};

/**
 * Builds the package's entry point into one ESM file and imports it twice
 * under different URLs: two copies of `@polywire/runtime` in one process, as
 * happens when an application and a library each bundle their own. The error
 * class lives in `@polywire/core`, so each copy bundles core too (its own
 * class); every other dependency stays external, as in a published build.
 */
describe("one error class across duplicate package copies", () => {
  const dir = fileURLToPath(new URL(`../.cache/copies-${process.pid}/`, import.meta.url));
  let copyA: Runtime;
  let copyB: Runtime;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const outfile = `${dir}runtime.js`;
    await build({
      entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      conditions: ["@polywire/source"],
      plugins: [externalExceptCore],
      outfile,
      logLevel: "silent",
    });
    const url = pathToFileURL(outfile).href;
    copyA = await import(/* @vite-ignore */ `${url}?copy=a`) as Runtime;
    copyB = await import(/* @vite-ignore */ `${url}?copy=b`) as Runtime;
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the copies are distinct classes", () => {
    expect(copyA.PolywireError).not.toBe(copyB.PolywireError);
    expect(copyA.PolywireError).not.toBe(source.PolywireError);
  });

  it("instanceof PolywireError holds for errors of any copy, with code, cause and limit intact", () => {
    const cause = new Error("root cause");
    const fromA = new copyA.PolywireError("BATCH_TOO_LARGE", "too big", { cause, limit: 1000 });
    for (const cls of [copyA.PolywireError, copyB.PolywireError, source.PolywireError]) {
      expect(fromA instanceof cls).toBe(true);
      expect(new Error("plain") instanceof cls).toBe(false);
    }
    expect(fromA).toBeInstanceOf(Error);
    expect(fromA).toMatchObject({ code: "BATCH_TOO_LARGE", limit: 1000n, retriable: false, name: "PolywireError" });
    expect(fromA.cause).toBe(cause);
    expect(copyB.PolywireError.from(fromA)).toBe(fromA);
  });

  it("errors from a real client of one copy are recognised by the others", async () => {
    const broker = await startBroker({ topics: [{ name: "copies", partitions: 1 }] });
    try {
      const client = await copyA.connect(broker.urls[0] as string);
      const producer = client.producer();
      const failure = await producer.send(copyA.Record.text("no-such-topic", "x")).catch((e: unknown) => e);
      expect(failure instanceof copyB.PolywireError).toBe(true);
      expect(failure instanceof source.PolywireError).toBe(true);
      expect(failure).toMatchObject({ code: "UNKNOWN_TOPIC" });
      await client.close();
      const refused = await source.connect("tcp://127.0.0.1:0/path").catch((e: unknown) => e);
      expect(refused instanceof copyA.PolywireError && refused instanceof copyB.PolywireError).toBe(true);
      expect(refused).toMatchObject({ code: "INVALID_ARGUMENT" });
    } finally {
      await broker.close();
    }
  });
});
