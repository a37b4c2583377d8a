import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { GroupService } from "@polywire/proto/admin";

/** The message of every GroupService RPC until the broker implements consumer groups (§8). */
export const GROUPS_UNAVAILABLE = "consumer groups are not available on this broker";

function unavailable(): never {
  throw new ConnectError(GROUPS_UNAVAILABLE, Code.Unimplemented);
}

/**
 * GroupService (§11.4) of a broker without consumer groups: it does not
 * grant FEATURE_GROUPS, so there are no groups to list, describe, reset or
 * delete, and every RPC answers `unimplemented` saying so, rather than an
 * empty list that would look like a broker with no groups yet.
 */
export function groupService(): ServiceImpl<typeof GroupService> {
  return {
    listGroups: unavailable,
    describeGroup: unavailable,
    resetGroupOffsets: unavailable,
    deleteGroup: unavailable,
  };
}
