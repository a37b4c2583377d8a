import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { TopicDescriptionSchema, type TopicService } from "@polywire/proto/admin";
import type { TopicInfo } from "../storage/storage.js";
import type { AdminContext } from "./context.js";
import { adminError } from "./errors.js";
import { quote } from "../quote.js";

/** Names starting with this are internal topics, which only the broker creates (PW-ADMIN-010). */
const INTERNAL_PREFIX = "__";

/** The partitioner every topic uses (PW-PART-002). */
const PARTITIONER = "murmur2";

function isInternal(name: string): boolean {
  return name.startsWith(INTERNAL_PREFIX);
}

/** A topic's full description from storage (PW-ADMIN-015). */
function describe(context: AdminContext, info: TopicInfo): MessageInitShape<typeof TopicDescriptionSchema> {
  const partitions = [];
  for (let p = 0; p < info.partitions; p++) {
    const stats = context.storage.partition(info.name, p).stats();
    partitions.push({
      partition: p,
      leaderId: context.brokerId,
      logStartOffset: stats.logStartOffset,
      highWatermark: stats.highWatermark,
      sizeBytes: BigInt(stats.sizeBytes),
      segments: stats.segments,
    });
  }
  return { name: info.name, partitioner: PARTITIONER, partitions, config: { entries: { ...info.config } }, internal: isInternal(info.name) };
}

/**
 * TopicService (§11.2): thin over the storage layer, which validates names,
 * partition counts and config (its StorageErrors become Connect codes in
 * the admin interceptor). What is checked here is only what storage has no
 * notion of: internal names and the shape of an AlterTopicConfig request.
 */
export function topicService(context: AdminContext): ServiceImpl<typeof TopicService> {
  return {
    async createTopic(request) {
      if (isInternal(request.name)) {
        throw adminError(Code.InvalidArgument, "INVALID_TOPIC", `invalid topic name ${quote(request.name)}: names starting with "${INTERNAL_PREFIX}" are reserved for internal topics`);
      }
      // PW-ADMIN-011: 0 partitions means the broker default, 1.
      const info = await context.storage.createTopic(request.name, { partitions: request.partitions === 0 ? 1 : request.partitions, config: request.config });
      return { topic: describe(context, info) };
    },

    async deleteTopic(request) {
      const info = context.storage.topic(request.name);
      if (isInternal(info.name)) {
        throw adminError(Code.InvalidArgument, "INVALID_ARGUMENT", `topic ${quote(request.name)} is internal and cannot be deleted`);
      }
      await context.storage.deleteTopic(request.name);
      return {};
    },

    listTopics(request) {
      const topics = context.storage.listTopics()
        .filter((t) => request.includeInternal || !isInternal(t.name))
        .map((t) => ({ name: t.name, partitions: t.partitions, internal: isInternal(t.name) }));
      // PW-ADMIN-014: by name as bytes; storage sorts by UTF-16 code units, which agree for the ASCII names PW-ADMIN-010 allows.
      return { topics };
    },

    describeTopic(request) {
      return { topic: describe(context, context.storage.topic(request.name)) };
    },

    async alterTopicConfig(request) {
      const both = request.reset.filter((key) => Object.hasOwn(request.set, key));
      if (both.length > 0) {
        throw adminError(Code.InvalidArgument, "INVALID_CONFIG", `config key ${quote(both[0])} is both set and reset; name each key once`);
      }
      const info = await context.storage.alterTopic(request.name, {
        set: request.set,
        reset: request.reset,
        ...(request.partitions === 0 ? {} : { partitions: request.partitions }),
      });
      return { topic: describe(context, info) };
    },
  };
}
