import type { ConformanceCase } from "../../runner/case.js";
import { callCases } from "./calls.js";
import { flowCases } from "./flow.js";
import { responderCases } from "./responders.js";

/** The request/reply plane's cases (§10). */
export const rpcCases: readonly ConformanceCase[] = [...responderCases, ...callCases, ...flowCases];
