export { assignorFunction, chooseAssignor, cooperativeStickyAssign, rangeAssign, resolveAssignor, roundRobinAssign } from "./assignors/index.js";
export type { AssignorFunction, AssignorInput, AssignorMember, TargetAssignment } from "./assignors/index.js";
export { compareBytes, PartitionSet } from "./partition-set.js";
export type { TopicPartition } from "./partition-set.js";
