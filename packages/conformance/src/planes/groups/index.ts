import type { ConformanceCase } from "../../runner/case.js";
import { groupAdminCases } from "./admin.js";
import { assignorCases } from "./assignors.js";
import { membershipCases } from "./membership.js";
import { offsetCases } from "./offsets.js";
import { reconciliationCases } from "./reconciliation.js";
import { timeoutCases } from "./timeouts.js";

/** The consumer-group plane's cases (§8). */
export const groupCases: readonly ConformanceCase[] = [...membershipCases, ...reconciliationCases, ...assignorCases, ...offsetCases, ...timeoutCases, ...groupAdminCases];
