import type { ConformanceCase } from "../../runner/case.js";
import { routingCases } from "./routing.js";
import { slowCases } from "./slow.js";

/** The pub/sub plane's cases (§9). */
export const pubsubCases: readonly ConformanceCase[] = [...routingCases, ...slowCases];
