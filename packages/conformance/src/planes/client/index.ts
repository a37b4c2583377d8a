import type { ConformanceCase } from "../../runner/case.js";
import { answerCases } from "./answers.js";
import { connectionCases } from "./connection.js";
import { consumeCases } from "./consume.js";
import { partitioningCases } from "./partitioning.js";
import { produceCases } from "./produce.js";

/**
 * Cases that check the client behind the adapter (role "client"), against
 * the target broker through the runner's observing proxy; each is reported
 * with the plane its clauses belong to.
 */
export const clientCases: readonly ConformanceCase[] = [...produceCases, ...consumeCases, ...answerCases, ...partitioningCases, ...connectionCases];
