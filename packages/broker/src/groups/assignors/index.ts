import { Assignor } from "@polywire/proto/groups";
import { cooperativeStickyAssign } from "./cooperative-sticky.js";
import { rangeAssign } from "./range.js";
import { roundRobinAssign } from "./round-robin.js";
import type { AssignorFunction } from "./types.js";

export { cooperativeStickyAssign } from "./cooperative-sticky.js";
export { rangeAssign } from "./range.js";
export { roundRobinAssign } from "./round-robin.js";
export type { AssignorFunction, AssignorInput, AssignorMember, TargetAssignment } from "./types.js";

const ASSIGNORS: ReadonlyMap<Assignor, AssignorFunction> = new Map([
  [Assignor.RANGE, rangeAssign],
  [Assignor.ROUND_ROBIN, roundRobinAssign],
  [Assignor.COOPERATIVE_STICKY, cooperativeStickyAssign],
]);

/**
 * The assignor a heartbeat names, with ASSIGNOR_UNSPECIFIED meaning
 * ASSIGNOR_COOPERATIVE_STICKY (PW-GROUP-030); null for a value this broker
 * does not support (ERROR_CODE_UNSUPPORTED_ASSIGNOR).
 */
export function resolveAssignor(value: number): Assignor | null {
  const assignor = value === Assignor.UNSPECIFIED ? Assignor.COOPERATIVE_STICKY : (value as Assignor);
  return ASSIGNORS.has(assignor) ? assignor : null;
}

/** The function implementing a supported assignor. */
export function assignorFunction(assignor: Assignor): AssignorFunction {
  const fn = ASSIGNORS.get(assignor);
  if (fn === undefined) throw new RangeError(`assignor ${assignor} is not supported`);
  return fn;
}

/**
 * The group's assignor (PW-GROUP-030): the one named by the most members,
 * ties broken by the lowest enum value; cooperative-sticky for a group
 * without members.
 */
export function chooseAssignor(preferences: Iterable<Assignor>): Assignor {
  const votes = new Map<Assignor, number>();
  for (const a of preferences) votes.set(a, (votes.get(a) ?? 0) + 1);
  let chosen: Assignor = Assignor.COOPERATIVE_STICKY;
  let most = 0;
  for (const [assignor, n] of votes) {
    if (n > most || (n === most && assignor < chosen)) {
      chosen = assignor;
      most = n;
    }
  }
  return chosen;
}
