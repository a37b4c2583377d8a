import { PolywireError } from "@polywire/core";
import { confirmation, wantsConfirmation } from "./confirm.js";
import type { Message, MessageHeadersInit } from "./message.js";
import type { SubscribeOptions, Subscription } from "./subscription.js";

/**
 * A message handler (MessageBus's `Subscribe(topic, handler)`): its
 * success or failure (a thrown error's `code` and message) goes back to a
 * publisher that asked for confirmation (spec §9.5). `signal` aborts when
 * the subscription ends.
 */
export type MessageHandler = (message: Message, context: { readonly signal: AbortSignal }) => unknown;

/** Options of `client.handle`: those of `subscribe`, and how many handlers run at once. */
export interface HandleOptions extends SubscribeOptions {
  /** Handlers running at once. Default 1: one message after the other, in order. */
  readonly concurrency?: number;
}

/** How the handler loop answers a confirmed publish: an ordinary publish, without ack. */
export type Answer = (replyTo: string, headers: MessageHeadersInit, body: Uint8Array) => Promise<unknown>;

/**
 * Runs `handler` on every message of `subscription`, at most `concurrency`
 * at once, and answers each message that asks for it with one confirmation
 * once its handler finished (PW-PUBSUB-041). A handler's failure is also
 * emitted as the subscription's `handlerError` event.
 */
export function runHandler(subscription: Subscription, handler: MessageHandler, answer: Answer, concurrency = 1): void {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new PolywireError("INVALID_ARGUMENT", `concurrency must be a positive integer, got ${String(concurrency)}`);
  const stop = new AbortController();
  void subscription.closed.then(() => stop.abort(new PolywireError("CANCELLED", "the subscription ended")));
  const running = new Set<Promise<void>>();
  const one = async (m: Message): Promise<void> => {
    let failure: unknown;
    try {
      await handler(m, { signal: stop.signal });
    } catch (error) {
      failure = error ?? new Error("the handler failed");
      subscription.handlerFailed(failure, m);
    }
    if (!wantsConfirmation(m)) return;
    const { headers, body } = confirmation(failure);
    // At-most-once like any message: a confirmation that cannot be sent is missing at the publisher.
    await answer(m.replyTo, headers, body).catch(() => undefined);
  };
  void (async () => {
    for await (const m of subscription) {
      const task = one(m).finally(() => running.delete(task));
      running.add(task);
      if (running.size >= concurrency) await Promise.race(running);
    }
    await Promise.all(running);
  })().catch(() => undefined);
}
