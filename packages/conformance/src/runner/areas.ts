import { Feature } from "@polywire/proto/session";
import type { PlaneId } from "./case.js";

/** Where a clause area belongs: its plane, and the feature a broker grants when it implements it. */
export interface AreaInfo {
  readonly plane: PlaneId;
  /** The feature a target must grant for the area's clauses to apply; none for the session core. */
  readonly feature?: Feature;
  /** The area is served on the admin listener, so it applies only with an admin URL. */
  readonly admin?: boolean;
}

/**
 * Every clause area of the spec. Later planes are listed here from the
 * start: the coverage report derives "plane not implemented by target"
 * from the Welcome's granted features, never from a list of what exists.
 */
export const AREAS: Readonly<Record<string, AreaInfo>> = {
  TRANS: { plane: "session" },
  FRAME: { plane: "session" },
  SESS: { plane: "session" },
  AUTH: { plane: "session" },
  LIM: { plane: "session" },
  ERR: { plane: "session" },
  COMPAT: { plane: "session" },
  BATCH: { plane: "log", feature: Feature.LOG },
  COMP: { plane: "log", feature: Feature.LOG },
  PART: { plane: "log", feature: Feature.LOG },
  LOG: { plane: "log", feature: Feature.LOG },
  IDEM: { plane: "log", feature: Feature.IDEMPOTENCE },
  GROUP: { plane: "groups", feature: Feature.GROUPS },
  PUBSUB: { plane: "pubsub", feature: Feature.PUBSUB },
  RPC: { plane: "rpc", feature: Feature.REQUEST_REPLY },
  ADMIN: { plane: "admin", admin: true },
};

/**
 * Clauses of one area that belong to another plane's feature: the admin
 * plane's group RPCs (PW-ADMIN-030 to 035) apply only to brokers that
 * implement consumer groups (without them, PW-ADMIN-029 answers
 * `unimplemented`).
 */
export const CLAUSE_FEATURES: Readonly<Record<string, Feature>> = {
  "PW-ADMIN-030": Feature.GROUPS,
  "PW-ADMIN-031": Feature.GROUPS,
  "PW-ADMIN-032": Feature.GROUPS,
  "PW-ADMIN-033": Feature.GROUPS,
  "PW-ADMIN-034": Feature.GROUPS,
  "PW-ADMIN-035": Feature.GROUPS,
};

/** The area of a clause id (`PW-LOG-012` → `LOG`). */
export function areaOf(clause: string): string {
  return clause.split("-")[1] ?? "";
}

/** The area info of a clause; unknown areas count as session-core. */
export function areaInfo(clause: string): AreaInfo {
  const info = AREAS[areaOf(clause)] ?? { plane: "session" };
  const feature = CLAUSE_FEATURES[clause];
  return feature === undefined ? info : { ...info, feature };
}

/** Plane titles for reports, in report order. */
export const PLANE_TITLES: Readonly<Record<PlaneId, string>> = {
  session: "Session, framing and limits",
  log: "Log plane",
  groups: "Consumer groups",
  pubsub: "Pub/sub",
  rpc: "Request/reply",
  admin: "Admin plane",
};

/**
 * Clauses about how the protocol itself evolves (numbering, `reserved`
 * statements, Feature gating of changes, buf lint and breaking, the vectors
 * and the clause index). They bind the spec and `proto/`, and are checked by
 * `buf lint`, `buf breaking` and `spec/test`, not against a running broker
 * or client.
 */
export const SPEC_PROCESS_CLAUSES: ReadonlySet<string> = new Set([
  "PW-COMPAT-001", "PW-COMPAT-002", "PW-COMPAT-005", "PW-COMPAT-006", "PW-COMPAT-007", "PW-COMPAT-009", "PW-COMPAT-010",
]);

/**
 * Clauses no black-box test can check, with the reason the report gives.
 * The fsync policies differ only after a power loss or an operating-system
 * crash: a killed broker process leaves unsynced writes in the page cache,
 * so every policy survives what the suite can do to a broker. Each
 * implementation checks these in its own tests (the reference broker:
 * `packages/broker/test/fsync-policy.test.ts`, which counts its fsyncs).
 */
export const NOT_OBSERVABLE_CLAUSES: ReadonlyMap<string, string> = new Map([
  ["PW-ADMIN-022", "not observable from outside the broker: fsync policies differ only after a power loss or OS crash; checked by the implementation's own tests"],
]);
