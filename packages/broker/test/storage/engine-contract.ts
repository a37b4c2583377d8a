import { beforeAll, describe } from "vitest";
import { codecReady } from "../storage-fixtures.js";
import { appendContract } from "./contract/appends.js";
import { idempotenceContract } from "./contract/idempotence.js";
import { readContract } from "./contract/reads.js";
import { recoveryContract } from "./contract/recovery.js";
import { segmentContract } from "./contract/segments.js";
import type { EngineUnderTest } from "./contract/support.js";
import { topicContract } from "./contract/topics.js";

export type { ContractOptions, EngineUnderTest } from "./contract/support.js";

/**
 * The storage contract every engine meets, run through the public
 * {@link Storage} interface: appends, reads, locating offsets and
 * timestamps, segments and retention, topics, committed offsets,
 * idempotent producers and, for a durable engine, what a restart keeps.
 * Each engine's test file calls this once (`memory-engine.test.ts`,
 * `disk-engine.test.ts`; a new engine adds one) and adds the tests only it
 * needs: how it crashes, what it does with files or buffers.
 */
export function engineContract(engine: EngineUnderTest): void {
  describe(`storage engine contract (${engine.name})`, () => {
    beforeAll(() => codecReady);
    describe("appends", () => appendContract(engine));
    describe("reads", () => readContract(engine));
    describe("segments and retention", () => segmentContract(engine));
    describe("topics, offsets, close", () => topicContract(engine));
    describe("idempotent producers", () => idempotenceContract(engine));
    if (engine.durable) describe("restarts", () => recoveryContract(engine));
  });
}
