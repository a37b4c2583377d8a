import type { ConformanceCase } from "../../runner/case.js";
import { errorCases } from "./errors.js";
import { featureTableCases } from "./features.js";
import { framingCases } from "./framing.js";
import { handshakeCases } from "./handshake.js";
import { helloOnceCases } from "./hello-once.js";
import { lifecycleCases } from "./lifecycle.js";
import { limitCases } from "./limits.js";
import { pipeliningCases } from "./pipelining.js";
import { resourceCases } from "./resources.js";

/** The session plane's cases: framing (§2), session (§3) and limits (§4). */
export const sessionCases: readonly ConformanceCase[] = [...handshakeCases, ...helloOnceCases, ...pipeliningCases, ...featureTableCases, ...framingCases, ...lifecycleCases, ...limitCases, ...resourceCases, ...errorCases];
