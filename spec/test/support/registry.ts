// The protobuf-es descriptors of every proto/polywire/v1 file, for tests that
// look messages up by name.
import { createRegistry } from "@bufbuild/protobuf";
import type { DescFile, DescMessage } from "@bufbuild/protobuf";
import { file_polywire_v1_admin } from "@polywire/proto/admin";
import { file_polywire_v1_common } from "@polywire/proto/common";
import { file_polywire_v1_groups } from "@polywire/proto/groups";
import { file_polywire_v1_log } from "@polywire/proto/log";
import { file_polywire_v1_pubsub } from "@polywire/proto/pubsub";
import { file_polywire_v1_rpc } from "@polywire/proto/rpc";
import { file_polywire_v1_session } from "@polywire/proto/session";

export const allFiles: DescFile[] = [
  file_polywire_v1_admin,
  file_polywire_v1_common,
  file_polywire_v1_groups,
  file_polywire_v1_log,
  file_polywire_v1_pubsub,
  file_polywire_v1_rpc,
  file_polywire_v1_session,
];

export const registry = createRegistry(...allFiles);

export function messageSchema(typeName: string): DescMessage {
  const schema = registry.getMessage(typeName);
  if (!schema) throw new Error(`no message ${typeName}`);
  return schema;
}

export function frameKindNumber(name: string): number {
  const value = registry.getEnum("polywire.v1.FrameKind")?.values.find((v) => v.name === name);
  if (!value) throw new Error(`no FrameKind ${name}`);
  return value.number;
}
