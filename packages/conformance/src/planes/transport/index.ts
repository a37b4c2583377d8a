import type { ConformanceCase } from "../../runner/case.js";
import { acceptCases } from "./accept.js";
import { sameStreamCases } from "./same-stream.js";
import { tlsCases } from "./tls.js";
import { webSocketCases } from "./websocket.js";

/** Transport cases (§1): WebSocket message rules, the same stream over every transport, TLS client verification, connections counted and timed from accept. */
export const transportCases: readonly ConformanceCase[] = [...webSocketCases, ...sameStreamCases, ...tlsCases, ...acceptCases];
