import type { ConformanceCase } from "../../runner/case.js";
import { errorCases } from "./errors.js";
import { framingCases } from "./framing.js";
import { handshakeCases } from "./handshake.js";
import { lifecycleCases } from "./lifecycle.js";
import { limitCases } from "./limits.js";
import { resourceCases } from "./resources.js";

/** The session plane's cases: framing (§2), session (§3) and limits (§4). */
export const sessionCases: readonly ConformanceCase[] = [...handshakeCases, ...framingCases, ...lifecycleCases, ...limitCases, ...resourceCases, ...errorCases];
