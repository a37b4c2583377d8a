// The two TypeScript flavors of the bindings, indexed by full message name:
// protobuf-es (gen/ts, @polywire/proto) and ts-proto (gen/ts-proto).
import { createRegistry } from "@bufbuild/protobuf";
import type { DescFile, DescMessage } from "@bufbuild/protobuf";
import type { BinaryWriter } from "@bufbuild/protobuf/wire";
import * as esAdmin from "@polywire/proto/admin";
import * as esCommon from "@polywire/proto/common";
import * as esGroups from "@polywire/proto/groups";
import * as esLog from "@polywire/proto/log";
import * as esPubsub from "@polywire/proto/pubsub";
import * as esRpc from "@polywire/proto/rpc";
import * as esSession from "@polywire/proto/session";
import * as tpAdmin from "@polywire/proto-tsproto/admin";
import * as tpCommon from "@polywire/proto-tsproto/common";
import * as tpGroups from "@polywire/proto-tsproto/groups";
import * as tpLog from "@polywire/proto-tsproto/log";
import * as tpPubsub from "@polywire/proto-tsproto/pubsub";
import * as tpRpc from "@polywire/proto-tsproto/rpc";
import * as tpSession from "@polywire/proto-tsproto/session";

export const esFiles: DescFile[] = [
  esAdmin.file_polywire_v1_admin,
  esCommon.file_polywire_v1_common,
  esGroups.file_polywire_v1_groups,
  esLog.file_polywire_v1_log,
  esPubsub.file_polywire_v1_pubsub,
  esRpc.file_polywire_v1_rpc,
  esSession.file_polywire_v1_session,
];

export const registry = createRegistry(...esFiles);

/** Every message of proto/, as protobuf-es descriptors. */
export const esMessages: DescMessage[] = esFiles.flatMap((f) => f.messages);

export function esSchema(typeName: string): DescMessage {
  const schema = registry.getMessage(typeName);
  if (!schema) throw new Error(`protobuf-es has no ${typeName}`);
  return schema;
}

/** The part of ts-proto's MessageFns the tests use. */
export interface TsProtoFns {
  encode(message: unknown, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array): unknown;
  fromJSON(object: unknown): unknown;
  toJSON(message: unknown): unknown;
}

const tsProtoModules = [tpAdmin, tpCommon, tpGroups, tpLog, tpPubsub, tpRpc, tpSession] as Record<string, unknown>[];

export function tsProto(typeName: string): TsProtoFns {
  const short = typeName.replace(/^polywire\.v1\./, "");
  for (const mod of tsProtoModules) {
    const fns = mod[short] as Partial<TsProtoFns> | undefined;
    if (fns && typeof fns.encode === "function" && typeof fns.decode === "function") return fns as TsProtoFns;
  }
  throw new Error(`ts-proto has no ${typeName}`);
}
