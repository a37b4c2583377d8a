import { toBinary } from "@bufbuild/protobuf";
import { GroupHeartbeatResponseSchema, OffsetCommitResponseSchema, OffsetFetchResponseSchema } from "@polywire/proto/groups";
import { FrameKind } from "@polywire/proto/session";
import { PolywireError } from "@polywire/core";
import { GroupCoordinator, resolveGroupConfig, type GroupConfig, type Outcome, type TopicView } from "./groups/index.js";
import { MembershipRecord } from "./groups-membership.js";
import { GroupNotices } from "./groups-notices.js";
import type { BrokerMetrics, GroupMetricsSource } from "./metrics.js";
import { route, routeMap, type Route } from "./route.js";
import { checkTopicName } from "./storage/config.js";
import { StorageError } from "./storage/errors.js";
import type { Storage, TopicChange } from "./storage/storage.js";

/** What the groups plane needs from the broker. */
export interface GroupsPlaneHost {
  readonly storage: Storage;
  /** Where the plane's series go (groups, members, epochs, lag, commits); none when absent. */
  readonly metrics?: BrokerMetrics;
  /** The coordinator's settings (spec §8); defaults as `DEFAULT_GROUP_CONFIG`. */
  readonly config?: Partial<GroupConfig>;
  /** The broker's clock, Unix milliseconds: every timeout of §8 is measured on it. Default `Date.now`. */
  readonly now?: () => number;
}

/** setTimeout's largest delay; later deadlines are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often committed offsets of long-empty groups are looked at (PW-GROUP-046), at most. */
const RETENTION_CHECK_MS = 60_000;

/** The broker's topics as the coordinator sees them: partition counts from storage. */
function topicView(storage: Storage): TopicView {
  return {
    partitionCount(topic) {
      try {
        return storage.topic(topic).partitions;
      } catch (error) {
        // No such topic; anything else (storage closing) fails the request rather than look like a deletion.
        if (error instanceof StorageError && (error.code === "UNKNOWN_TOPIC" || error.code === "INVALID_TOPIC")) return null;
        throw error;
      }
    },
    isValidName(topic) {
      try {
        checkTopicName(topic);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Turns a coordinator outcome into the response message, or the Error frame of PW-GROUP-016. */
function answer<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new PolywireError(outcome.code, outcome.message);
  return outcome.value;
}

/**
 * The consumer-group plane (spec §8): the coordinator of the groups core
 * over the broker's storage, its three request routes, and the timers that
 * remove silent members (PW-GROUP-005, -007, -023) and expire the offsets of
 * long-empty groups (PW-GROUP-046). One timer of each kind at most, both
 * stopped by {@link close}.
 */
export class GroupsPlane {
  readonly coordinator: GroupCoordinator;
  readonly #storage: Storage;
  readonly #topics: TopicView;
  readonly #now: () => number;
  readonly #metrics: BrokerMetrics | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #retentionTimer: NodeJS.Timeout | undefined;
  #stopTopics: (() => void) | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #members: MembershipRecord;
  readonly #notices: GroupNotices;
  // Groups that had members before a restart, and until when their partitions are held back (PW-GROUP-028).
  readonly #quarantined: ReadonlySet<string>;
  readonly #graceUntil: number;
  /** Offset writes started by topic changes and retention, awaited by close. */
  readonly #background = new Set<Promise<void>>();

  constructor(host: GroupsPlaneHost) {
    this.#storage = host.storage;
    this.#now = host.now ?? Date.now;
    const log = host.storage.groupOffsets;
    this.#topics = topicView(host.storage);
    const config = resolveGroupConfig(host.config);
    const now = this.#now();
    // Members from before a restart heartbeat at least every heartbeat interval; twice that, and each has been told it is unknown.
    this.#quarantined = MembershipRecord.recovered(log.recovered());
    this.#graceUntil = now + 2 * config.heartbeatIntervalMs;
    this.coordinator = new GroupCoordinator({
      topics: this.#topics,
      offsetLog: log,
      replay: log.recovered(),
      nowMs: now,
      config,
      quarantine: { groups: this.#quarantined, untilMs: this.#graceUntil },
    });
    this.#members = new MembershipRecord(log, this.#quarantined);
    this.#notices = new GroupNotices(this.coordinator, this.#now);
    log.compactWith(() => [...this.coordinator.offsetSnapshot(), ...this.#members.entries()]);
    this.#metrics = host.metrics;
    this.#metrics?.observeGroups(this.#metricsSource());
  }

  /**
   * Deletes the commits of topics that no longer exist (a crash between a
   * topic's deletion and its commits', PW-GROUP-046), then follows topic
   * changes and starts the retention timer.
   */
  async start(): Promise<void> {
    const gone = new Set<string>();
    for (const entry of this.coordinator.offsetSnapshot()) {
      if (entry.kind !== "commit") continue;
      for (const o of entry.offsets) if (this.#topics.partitionCount(o.topic) === null) gone.add(o.topic);
    }
    for (const topic of gone) await this.coordinator.topicDeleted(topic, this.#now());
    this.#stopTopics = this.#storage.onTopicChange((topic, change) => this.#topicChanged(topic, change));
    const every = Math.min(RETENTION_CHECK_MS, this.coordinator.config.offsetRetentionMs);
    this.#retentionTimer = setInterval(() => this.#track(this.coordinator.expireOffsets(this.#now())), every);
    this.#retentionTimer.unref();
    if (this.#quarantined.size > 0) {
      // Groups from before the restart that nobody joined during the grace have no members: record it.
      this.#graceTimer = setTimeout(() => this.#sweep(this.#quarantined), Math.max(0, this.#graceUntil - this.#now()));
      this.#graceTimer.unref();
    }
  }

  /** The plane's routes: GroupHeartbeat, OffsetCommit, OffsetFetch. */
  routes(): Map<number, Route> {
    return routeMap([
      route({
        kind: FrameKind.GROUP_HEARTBEAT_REQUEST,
        handle: async ({ message, session }) => {
          const now = this.#now();
          const outcome = this.coordinator.heartbeat(message, now, session.clientId);
          // A heartbeat can set only deadlines of its own member: its session, or its revocation (PW-GROUP-023).
          const { config } = this.coordinator;
          const rebalanceTimeoutMs = Math.min(message.rebalanceTimeoutMs || config.defaultRebalanceTimeoutMs, config.maxRebalanceTimeoutMs);
          this.#armBy(now + Math.min(config.sessionTimeoutMs, rebalanceTimeoutMs));
          // A leave or a fenced member may have emptied the group.
          if (!outcome.ok || outcome.value.memberEpoch < 0) this.#sweep([message.groupId]);
          // Whatever this heartbeat changed (a join, a release, a leave, a fenced member removed) may be news to the others.
          if (outcome.ok) this.#notices.heard(message.groupId, outcome.value.memberId, outcome.value.memberEpoch, session);
          this.#notices.notify(message.groupId, outcome.ok ? outcome.value.memberId : message.memberId);
          const response = answer(outcome);
          if (response.memberEpoch > 0) {
            // No assignment goes out before the group is recorded as having members (PW-GROUP-028).
            await this.#members.present(message.groupId).catch((cause: unknown) => {
              throw new PolywireError("STORAGE", `cannot record group ${JSON.stringify(message.groupId)}'s membership: ${cause instanceof Error ? cause.message : String(cause)}`);
            });
          }
          return { message: toBinary(GroupHeartbeatResponseSchema, response) };
        },
      }),
      route({
        kind: FrameKind.OFFSET_COMMIT_REQUEST,
        handle: async ({ message }) => {
          const response = answer(await this.coordinator.commit(message, this.#now()));
          this.#metrics?.offsetCommits.inc(response.results.filter((r) => r.errorCode === 0).length);
          return { message: toBinary(OffsetCommitResponseSchema, response) };
        },
      }),
      route({
        kind: FrameKind.OFFSET_FETCH_REQUEST,
        handle: ({ message }) => ({ message: toBinary(OffsetFetchResponseSchema, answer(this.coordinator.fetch(message))) }),
      }),
    ]);
  }

  /** Stops the timers and topic tracking, and waits for offset writes they started. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#deadlineTimer);
    clearInterval(this.#retentionTimer);
    clearTimeout(this.#graceTimer);
    this.#stopTopics?.();
    await Promise.all(this.#background);
  }

  #metricsSource(): GroupMetricsSource {
    const { coordinator } = this;
    const storage = this.#storage;
    return {
      groups: () => coordinator.list(),
      *lag() {
        for (const { groupId } of coordinator.list()) {
          for (const o of coordinator.offsets(groupId)) {
            let highWatermark: bigint;
            try {
              highWatermark = storage.partition(o.topic, o.partition).highWatermark();
            } catch {
              continue; // A topic deleted a moment ago: its commits are on their way out (PW-GROUP-046).
            }
            yield { groupId, topic: o.topic, partition: o.partition, lag: highWatermark > o.offset ? highWatermark - o.offset : 0n };
          }
        }
      },
    };
  }

  #topicChanged(topic: string, change: TopicChange): void {
    const now = this.#now();
    if (change === "deleted") this.#track(this.coordinator.topicDeleted(topic, now));
    else this.coordinator.topicsChanged(now);
    this.#notices.notifyAll();
  }

  /** Records as memberless the groups of `groupIds` that are recorded as having members and have none (those held back since a restart only once the grace is over). */
  #sweep(groupIds: Iterable<string>): void {
    const now = this.#now();
    for (const groupId of groupIds) {
      if (now < this.#graceUntil && this.#quarantined.has(groupId)) continue;
      if ((this.coordinator.describe(groupId)?.members ?? 0) === 0) this.#track(this.#members.absent(groupId));
    }
  }

  #track(work: Promise<void>): void {
    // A failed write is the storage's to report (health); the next change retries nothing it lost.
    const settled = work.catch(() => undefined).finally(() => this.#background.delete(settled));
    this.#background.add(settled);
  }

  /**
   * Makes sure the deadline timer fires by `at`. Firing early costs only a
   * tick, so a heartbeat arms it without looking at other members (O(1) per
   * heartbeat); when it fires, the coordinator's true next deadline arms it again.
   */
  #armBy(at: number): void {
    if (this.#closed || at >= this.#armedFor) return;
    clearTimeout(this.#deadlineTimer);
    this.#armedFor = at;
    const delay = Math.min(MAX_TIMER_MS, Math.max(1, at - this.#now()));
    this.#deadlineTimer = setTimeout(() => {
      this.#armedFor = Number.POSITIVE_INFINITY;
      this.coordinator.tick(this.#now());
      this.#notices.notifyAll();
      this.#sweep(this.#members.marked());
      const next = this.coordinator.nextDeadline();
      if (next !== null) this.#armBy(next);
    }, delay);
    this.#deadlineTimer.unref();
  }
}
