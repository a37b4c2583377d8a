import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  GroupHeartbeatRequestSchema, GroupHeartbeatResponseSchema, GroupNoticeSchema, OffsetCommitRequestSchema, OffsetCommitResponseSchema, OffsetFetchRequestSchema, OffsetFetchResponseSchema,
} from "@polywire/proto/groups";
import { ErrorCode, ErrorSchema, Feature, FrameKind } from "@polywire/proto/session";
import { frameOf, RawClient } from "../helpers.js";

/** A request's answer: its response, or the code and message of the Error frame that failed it (PW-GROUP-016). */
export type Answer<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/**
 * A group member's connection speaking raw frames to a real broker: each
 * call sends one request and reads its one answer.
 */
export class GroupWire {
  readonly client: RawClient;
  /** GroupNotices received (PW-GROUP-029), with when they arrived; set aside while waiting for answers. */
  readonly notices: Array<{ groupId: string; memberId: string; atMs: number }> = [];
  #id = 1;

  private constructor(client: RawClient) {
    this.client = client;
  }

  /** Connects with FEATURE_LOG and FEATURE_GROUPS (and `extra`) asked for; `features` is what Welcome granted. */
  static async connect(url: string, clientId = "groups-test", extra: Feature[] = []): Promise<{ wire: GroupWire; features: Feature[] }> {
    const { client, welcome } = await RawClient.ready(url, { features: [Feature.LOG, Feature.GROUPS, ...extra], clientId });
    return { wire: new GroupWire(client), features: welcome.features };
  }

  heartbeat(init: MessageInitShape<typeof GroupHeartbeatRequestSchema>): Promise<Answer<MessageShape<typeof GroupHeartbeatResponseSchema>>> {
    return this.#call(FrameKind.GROUP_HEARTBEAT_REQUEST, GroupHeartbeatRequestSchema, init, FrameKind.GROUP_HEARTBEAT_RESPONSE, GroupHeartbeatResponseSchema);
  }

  commit(init: MessageInitShape<typeof OffsetCommitRequestSchema>): Promise<Answer<MessageShape<typeof OffsetCommitResponseSchema>>> {
    return this.#call(FrameKind.OFFSET_COMMIT_REQUEST, OffsetCommitRequestSchema, init, FrameKind.OFFSET_COMMIT_RESPONSE, OffsetCommitResponseSchema);
  }

  fetch(init: MessageInitShape<typeof OffsetFetchRequestSchema>): Promise<Answer<MessageShape<typeof OffsetFetchResponseSchema>>> {
    return this.#call(FrameKind.OFFSET_FETCH_REQUEST, OffsetFetchRequestSchema, init, FrameKind.OFFSET_FETCH_RESPONSE, OffsetFetchResponseSchema);
  }

  close(): void {
    this.client.close();
  }

  /** Waits up to `timeoutMs` for a GroupNotice not yet taken; undefined when none came. */
  async notice(timeoutMs: number): Promise<{ groupId: string; memberId: string; atMs: number } | undefined> {
    if (this.notices.length === 0) {
      let frame;
      try {
        frame = await this.client.next(timeoutMs);
      } catch {
        return undefined;
      }
      if (frame.kind !== FrameKind.GROUP_NOTICE) throw new Error(`expected a GroupNotice, got frame kind ${frame.kind}`);
      this.#noted(frame.message);
    }
    return this.notices.shift();
  }

  #noted(message: Uint8Array): void {
    const notice = fromBinary(GroupNoticeSchema, message);
    this.notices.push({ groupId: notice.groupId, memberId: notice.memberId, atMs: Date.now() });
  }

  async #call<Q extends DescMessage, R extends DescMessage>(kind: FrameKind, schema: Q, init: MessageInitShape<Q>, answerKind: FrameKind, answerSchema: R): Promise<Answer<MessageShape<R>>> {
    const id = this.#id;
    this.#id += 2;
    this.client.send(frameOf(kind, id, schema, init));
    let frame = await this.client.next(10_000);
    while (frame.kind === FrameKind.GROUP_NOTICE && frame.correlationId === 0) {
      this.#noted(frame.message);
      frame = await this.client.next(10_000);
    }
    if (frame.correlationId !== id) throw new Error(`answer to ${id} expected, got correlation id ${frame.correlationId}`);
    if (frame.kind === FrameKind.ERROR) {
      const error = fromBinary(ErrorSchema, frame.message);
      return { ok: false, code: ErrorCode[error.code] ?? String(error.code), message: error.message };
    }
    if (frame.kind !== answerKind) throw new Error(`expected frame kind ${answerKind}, got ${frame.kind}`);
    return { ok: true, value: fromBinary(answerSchema, frame.message) };
  }
}

/** The value of a successful answer; fails the test with the error otherwise. */
export function ok<T>(answer: Answer<T>): T {
  if (!answer.ok) throw new Error(`expected success, got ${answer.code}: ${answer.message}`);
  return answer.value;
}

/** `topic:p,p` strings of an Assignment's or OwnedPartitions' lists, for compact assertions. */
export function partitionsOf(lists: readonly { topic: string; partitions: readonly number[] }[] | undefined): string[] {
  return (lists ?? []).map((l) => `${l.topic}:${l.partitions.join(",")}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
