import type { ConformanceCase } from "../../runner/case.js";
import { batchCases } from "./batches.js";
import { durabilityCases } from "./durability.js";
import { fetchCases } from "./fetch.js";
import { historyCase } from "./history.js";
import { idempotenceCases } from "./idempotence.js";
import { logModelCase } from "./model.js";
import { racesCase } from "./races.js";
import { offsetCases } from "./offsets.js";
import { produceCases } from "./produce.js";

/** The log plane's cases (§5, §6, §7). */
export const logCases: readonly ConformanceCase[] = [...produceCases, ...batchCases, ...fetchCases, ...offsetCases, ...idempotenceCases, ...durabilityCases, logModelCase, racesCase, historyCase];
