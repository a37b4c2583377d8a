// Slow consumers (§9.4) and closed connections (PW-PUBSUB-015). The slow
// subscriber here is a raw socket the case does not read from at all, so
// the broker's writes to it back up in the kernel's buffers as they would
// for a stuck process; it is read only at the end, to account for every
// message.
import { DeliverySchema, SubscribeRequestSchema } from "@polywire/proto/pubsub";
import { Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { CaseContext, ConformanceCase } from "../../runner/case.js";
import { dial, type ByteStream } from "../../wire/dial.js";
import { encodeRawFrame, FrameSplitter, type WireFrame } from "../../wire/frame.js";
import { decode, encode } from "../../wire/messages.js";
import { helloBytes } from "../../wire/session.js";
import { nextDelivery, prefix, publish, publishQuietly, slowConsumerOf, subscribe } from "./io.js";

/** A subscriber that sends its Hello and SubscribeRequest and then reads nothing until `read()`. */
async function stalledSubscriber(ctx: CaseContext, subject: string, maxPending: number): Promise<{ stream: ByteStream; read(): WireFrame[]; readonly ended: boolean }> {
  const stream = await dial(ctx.target.url, { ...(ctx.target.tls === undefined ? {} : { tls: ctx.target.tls }), ...(ctx.target.inProcess === undefined ? {} : { inProcess: ctx.target.inProcess }) });
  ctx.defer(() => stream.destroy());
  stream.write(encodeRawFrame({ kind: FrameKind.HELLO, correlationId: 1, message: helloBytes({ versions: { min: 1, max: 1 }, features: [Feature.PUBSUB, Feature.SLOW_CONSUMER_NOTICE], clientId: "conformance-stalled" }) }));
  stream.write(encodeRawFrame({ kind: FrameKind.SUBSCRIBE_REQUEST, correlationId: 3, message: encode(SubscribeRequestSchema, { subscriptionId: 1, subject, maxPending }) }));
  const frames: WireFrame[] = [];
  let ended = false;
  stream.on("error", () => {});
  stream.on("close", () => (ended = true));
  return {
    stream,
    // Attaching the data listener is what starts reading.
    read: () => {
      const splitter = new FrameSplitter();
      stream.on("data", (chunk) => frames.push(...splitter.push(new Uint8Array(chunk))));
      return frames;
    },
    get ended() {
      return ended;
    },
  };
}

const slowSubscriber: ConformanceCase = {
  id: "pubsub/slow-subscriber",
  title: "A subscriber that does not read slows neither the publisher nor another subscriber; the broker drops for it past max_pending, every drop takes a sequence number and is reported in SlowConsumer notices whose sum is exact",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-032", "PW-PUBSUB-030", "PW-PUBSUB-024", "PW-PUBSUB-031", "PW-PUBSUB-033"],
  features: [Feature.PUBSUB, Feature.SLOW_CONSUMER_NOTICE],
  timeoutMs: 90_000,
  async run(ctx) {
    const subject = prefix(ctx, "flood");
    const slow = await stalledSubscriber(ctx, subject, 64);
    const fast = await ctx.connect();
    const pub = await ctx.connect();
    await subscribe(fast, 1, subject);
    // The stalled subscriber is active once a message is routed to both.
    let routedTo = 0;
    for (let i = 0; i < 200 && routedTo < 2; i++) {
      routedTo = await publish(pub, subject, "probe");
      if (routedTo < 2) await new Promise((r) => setTimeout(r, 25));
    }
    checkEqual("PW-PUBSUB-011", routedTo, 2, "routed once the stalled subscriber's subscription is active");
    // 24 MiB of messages: far beyond what socket buffers hold, so the broker must drop or buffer.
    const body = new Uint8Array(8 * 1024).fill(120);
    const count = 3_000;
    const started = performance.now();
    for (let i = 0; i < count - 1; i++) publishQuietly(pub, subject, body);
    checkEqual("PW-PUBSUB-032", await publish(pub, subject, body), 2, "routed of the last message");
    const publishMs = performance.now() - started;
    // The other subscriber gets every message, in order, while the stalled one reads nothing.
    let last = 0;
    while (last < count + 1) {
      const r = await nextDelivery(fast, "PW-PUBSUB-032", `message ${last + 1} to the subscriber that reads`, 20_000);
      checkEqual("PW-PUBSUB-024", Number(r.delivery.sequence), last + 1, "sequence at the subscriber that reads");
      last = Number(r.delivery.sequence);
    }
    ctx.note(`published ${count} messages of 8 KiB in ${publishMs.toFixed(0)} ms with a subscriber not reading`);
    check("PW-PUBSUB-032", !slow.ended, "the broker closed the stalled subscriber's connection instead of dropping for it");
    // Now read the stalled subscriber: every one of its count + 1 messages is delivered, or dropped and reported.
    const frames = slow.read();
    const total = count + 1;
    let delivered = 0;
    let reported = 0;
    let previous = 0;
    let gaps = 0;
    let at = 0;
    const deadline = Date.now() + 15_000;
    while (delivered + reported < total && Date.now() < deadline) {
      if (at >= frames.length) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const frame = frames[at++] as WireFrame;
      if (frame.kind === FrameKind.SLOW_CONSUMER) {
        const notice = slowConsumerOf(frame);
        checkEqual("PW-PUBSUB-031", notice.subscriptionId, 1, "SlowConsumer subscription_id");
        checkEqual("PW-PUBSUB-031", notice.subject, subject, "SlowConsumer subject (the pattern)");
        reported += Number(notice.dropped);
      } else if (frame.kind === FrameKind.DELIVERY) {
        const sequence = Number(decode(DeliverySchema, frame.message).sequence);
        check("PW-PUBSUB-024", sequence > previous, `sequence ${sequence} after ${previous}`);
        gaps += sequence - previous - 1;
        previous = sequence;
        delivered++;
      }
    }
    check("PW-PUBSUB-031", delivered + reported === total, `of ${total} messages the stalled subscriber got ${delivered} and notices reported ${reported} dropped, within 15 s of reading`);
    check("PW-PUBSUB-030", reported > 0, `the stalled subscriber (max_pending 64) lost none of ${total} messages of 8 KiB: the broker buffered them all`);
    // Drops so far were the newest messages, the last ones: now that it reads, one more message must
    // carry the sequence number that counts them all (PW-PUBSUB-024), not the next after the last delivered.
    checkEqual("PW-PUBSUB-032", await publish(pub, subject, "after"), 2, "routed once the subscriber reads again");
    let after: WireFrame | undefined;
    while (after === undefined && Date.now() < deadline + 5_000) {
      const next = frames.slice(at).find((f) => f.kind === FrameKind.DELIVERY);
      if (next === undefined) await new Promise((r) => setTimeout(r, 20));
      else after = next;
    }
    check("PW-PUBSUB-024", after !== undefined, "no Delivery of the message published once the subscriber reads again");
    const sequence = Number(decode(DeliverySchema, after.message).sequence);
    checkEqual("PW-PUBSUB-024", sequence, total + 1, `sequence after ${delivered} delivered and ${gaps + total - previous} dropped messages`);
    checkEqual("PW-PUBSUB-031", reported, gaps + total - previous, "messages reported in SlowConsumer notices against the sequence gaps");
  },
};

const closedConnection: ConformanceCase = {
  id: "pubsub/closed-connection",
  title: "Closing a connection ends its subscriptions: once the broker noticed, messages are no longer routed to them",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-015"],
  features: [Feature.PUBSUB],
  async run(ctx) {
    const subject = prefix(ctx, "closed");
    const sub = await ctx.connect();
    const pub = await ctx.connect();
    await subscribe(sub, 1, subject);
    checkEqual("PW-PUBSUB-015", await publish(pub, subject, "before"), 1, "routed while subscribed");
    sub.destroy();
    let routed = 1;
    for (let i = 0; i < 100 && routed !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      routed = await publish(pub, subject, "after");
    }
    checkEqual("PW-PUBSUB-015", routed, 0, "routed two seconds after the subscriber's connection closed");
  },
};

export const slowCases: readonly ConformanceCase[] = [slowSubscriber, closedConnection];
