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
import { producerExpiryCases } from "./producer-expiry.js";
import { topicNameCases } from "./topic-names.js";

/** The log plane's cases (§5, §6, §7). */
export const logCases: readonly ConformanceCase[] = [...produceCases, ...batchCases, ...fetchCases, ...offsetCases, ...topicNameCases, ...idempotenceCases, ...producerExpiryCases, ...durabilityCases, logModelCase, racesCase, historyCase];
