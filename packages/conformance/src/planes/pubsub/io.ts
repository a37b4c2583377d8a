// What the pub/sub cases share: subjects unique to a run, publishing and
// subscribing over a WireSession, and reading Deliveries.
import { DeliverySchema, PublishRequestSchema, SlowConsumerSchema, type Delivery, type SlowConsumer } from "@polywire/proto/pubsub";
import { FrameKind } from "@polywire/proto/session";
import { check } from "../../clause.js";
import type { CaseContext } from "../../runner/case.js";
import type { WireFrame } from "../../wire/frame.js";
import { decode, encode } from "../../wire/messages.js";
import type { WireSession } from "../../wire/session.js";

const text = new TextEncoder();

/** A subject prefix no other run or case shares. */
export function prefix(ctx: CaseContext, name: string): string {
  return `cf${ctx.seed}p${process.pid}t${Date.now().toString(36)}.${name}`;
}

export async function subscribe(session: WireSession, subscriptionId: number, subject: string, more: { queueGroup?: string; maxPending?: number } = {}): Promise<void> {
  await session.call(FrameKind.SUBSCRIBE_REQUEST, { subscriptionId, subject, queueGroup: more.queueGroup ?? "", maxPending: more.maxPending ?? 0 });
}

/** Publishes with `ack` and returns `routed` (PW-PUBSUB-021). */
export async function publish(session: WireSession, subject: string, body: string | Uint8Array, headers: ReadonlyArray<readonly [string, string]> = []): Promise<number> {
  const { message } = await session.call(FrameKind.PUBLISH_REQUEST, { subject, ack: true, headers: headers.map(([key, value]) => ({ key, value: text.encode(value) })) }, typeof body === "string" ? text.encode(body) : body);
  return message.routed;
}

/** Publishes without `ack`: no answer comes (PW-PUBSUB-021); returns the correlation id used. */
export function publishQuietly(session: WireSession, subject: string, body: Uint8Array): number {
  return session.send(FrameKind.PUBLISH_REQUEST, encode(PublishRequestSchema, { subject }), body);
}

export interface Received {
  readonly frame: WireFrame;
  readonly delivery: Delivery;
  readonly body: string;
}

/** The next Delivery (any subscription, or `subscriptionId`'s), failing on `clause` when none comes. */
export async function nextDelivery(session: WireSession, clause: string, what: string, timeoutMs = 5_000, subscriptionId?: number): Promise<Received> {
  let frame: WireFrame;
  try {
    frame = await session.nextFrame(timeoutMs, (f) => f.kind === FrameKind.DELIVERY && (subscriptionId === undefined || decode(DeliverySchema, f.message).subscriptionId === subscriptionId));
  } catch {
    check(clause, false, `${what}: no Delivery within ${timeoutMs} ms`);
    throw new Error("unreachable");
  }
  return { frame, delivery: decode(DeliverySchema, frame.message), body: new TextDecoder().decode(frame.payload) };
}

/** True when a Delivery arrives within `ms` (for checking that none does). */
export async function anyDelivery(session: WireSession, ms: number): Promise<Received | undefined> {
  try {
    const frame = await session.nextFrame(ms, (f) => f.kind === FrameKind.DELIVERY);
    return { frame, delivery: decode(DeliverySchema, frame.message), body: new TextDecoder().decode(frame.payload) };
  } catch {
    return undefined;
  }
}

export function slowConsumerOf(frame: WireFrame): SlowConsumer {
  return decode(SlowConsumerSchema, frame.message);
}
