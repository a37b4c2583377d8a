import type { ConformanceCase } from "../runner/case.js";
import { adminCases } from "./admin/index.js";
import { clientCases } from "./client/index.js";
import { groupCases } from "./groups/index.js";
import { logCases } from "./log/index.js";
import { pubsubCases } from "./pubsub/index.js";
import { rpcCases } from "./rpc/index.js";
import { sessionCases } from "./session/index.js";
import { transportCases } from "./transport/index.js";

/**
 * Every case of the suite, plane by plane. A new plane adds a folder under
 * `planes/` with its cases (and, for model-based runs, a `ModelPlugin`) and
 * one line here.
 */
export const ALL_CASES: readonly ConformanceCase[] = [...sessionCases, ...transportCases, ...logCases, ...groupCases, ...pubsubCases, ...rpcCases, ...adminCases, ...clientCases];
