import { ErrorCode, Feature, FrameKind } from "@polywire/proto/session";
import { check, checkEqual } from "../../clause.js";
import type { ConformanceCase } from "../../runner/case.js";
import { expectBrokerError, expectErrorFrame, expectServing } from "../expect.js";
import { anyDelivery, nextDelivery, prefix, publish, publishQuietly, subscribe } from "./io.js";

const FEATURES = [Feature.PUBSUB];

const grammar: ConformanceCase = {
  id: "pubsub/subject-grammar",
  title: "Subjects and patterns that break the grammar are INVALID_SUBJECT, reserved ones RESERVED_SUBJECT (grammar first), a reply_to must be a plain subject, and an invalid publish is answered with an Error even without ack",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-001", "PW-PUBSUB-002", "PW-PUBSUB-003", "PW-PUBSUB-004", "PW-PUBSUB-022"],
  features: FEATURES,
  async run(ctx) {
    const session = await ctx.connect();
    for (const subject of ["", "a..b", ".a", "a.", "a b", "a\tb", "a.*", "a.>", "a*", "x".repeat(1025)]) {
      await expectBrokerError("PW-PUBSUB-001", publishWithAck(session, subject), ErrorCode.INVALID_SUBJECT, `publish to ${JSON.stringify(subject.slice(0, 20))}`);
    }
    for (const pattern of ["", "a.>.b", "a*", ">b", "a..b", "a b", "*.>x"]) {
      await expectBrokerError("PW-PUBSUB-002", subscribe(session, 9, pattern), ErrorCode.INVALID_SUBJECT, `subscribe to ${JSON.stringify(pattern)}`);
    }
    await expectBrokerError("PW-PUBSUB-003", publishWithAck(session, "$sys.x"), ErrorCode.RESERVED_SUBJECT, "publish to $sys.x");
    await expectBrokerError("PW-PUBSUB-003", subscribe(session, 9, "$sys.>"), ErrorCode.RESERVED_SUBJECT, "subscribe to $sys.>");
    await expectBrokerError("PW-PUBSUB-003", subscribe(session, 9, "$a..b"), ErrorCode.INVALID_SUBJECT, "subscribe to $a..b (the grammar is checked first)");
    await expectBrokerError("PW-PUBSUB-004", session.call(FrameKind.PUBLISH_REQUEST, { subject: "ok", replyTo: "in.*", ack: true }), ErrorCode.INVALID_SUBJECT, "publish with reply_to in.*");
    await expectBrokerError("PW-PUBSUB-003", session.call(FrameKind.PUBLISH_REQUEST, { subject: "ok", replyTo: "$r", ack: true }), ErrorCode.RESERVED_SUBJECT, "publish with reply_to $r");
    // PW-PUBSUB-022: without ack, an invalid publish still gets its Error, on its correlation id.
    const id = publishQuietly(session, "bad..subject", new Uint8Array(0));
    session.expectAnswer(id, FrameKind.PUBLISH_REQUEST);
    await expectErrorFrame(session, "PW-PUBSUB-022", { code: ErrorCode.INVALID_SUBJECT, correlationId: id, connection: "stays" }, "publish to bad..subject without ack");
    await expectServing(session, "PW-PUBSUB-001", "after refused subjects");
  },
};

function publishWithAck(session: Parameters<typeof publish>[0], subject: string): Promise<unknown> {
  return session.call(FrameKind.PUBLISH_REQUEST, { subject, ack: true });
}

const wildcards: ConformanceCase = {
  id: "pubsub/wildcards-and-delivery",
  title: "`*` matches one token and a last `>` one or more (never zero); a message goes to every matching subscription, the publisher's own included, one Delivery each, on correlation id 0 with the concrete subject, headers in order and the body byte for byte; routed counts them",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-002", "PW-PUBSUB-011", "PW-PUBSUB-013", "PW-PUBSUB-021", "PW-PUBSUB-023", "PW-PUBSUB-020", "PW-PUBSUB-026"],
  features: FEATURES,
  async run(ctx) {
    const p = prefix(ctx, "wild");
    const sub = await ctx.connect();
    const pub = await ctx.connect();
    await subscribe(sub, 1, `${p}.*`);
    await subscribe(sub, 2, `${p}.>`);
    await subscribe(pub, 3, `${p}.a`);
    // PW-PUBSUB-026: a message no subscription matches is discarded, routed 0.
    checkEqual("PW-PUBSUB-002", await publish(pub, p, "zero"), 0, `routed for ${p} (\`${p}.>\` must not match it)`);
    checkEqual("PW-PUBSUB-013", await publish(pub, `${p}.a`, "one", [["k", "1"], ["k", "2"], ["K", "3"]]), 3, `routed for ${p}.a (two subscriptions of one connection, one of the publisher's)`);
    checkEqual("PW-PUBSUB-002", await publish(pub, `${p}.a.b`, "two"), 1, `routed for ${p}.a.b (only \`>\` matches two tokens)`);
    const own = await nextDelivery(pub, "PW-PUBSUB-013", "the publisher's own subscription");
    checkEqual("PW-PUBSUB-013", own.delivery.subscriptionId, 3, "subscription of the publisher's Delivery");
    const got = [await nextDelivery(sub, "PW-PUBSUB-013", "first"), await nextDelivery(sub, "PW-PUBSUB-013", "second"), await nextDelivery(sub, "PW-PUBSUB-013", "third")];
    const ids = got.filter((r) => r.body === "one").map((r) => r.delivery.subscriptionId).sort();
    checkEqual("PW-PUBSUB-013", ids.join(","), "1,2", "subscriptions that got the message to .a");
    for (const r of got) {
      checkEqual("PW-PUBSUB-023", r.frame.correlationId, 0, "Delivery correlation id");
      check("PW-PUBSUB-023", r.delivery.subject === (r.body === "one" ? `${p}.a` : `${p}.a.b`), `Delivery subject ${r.delivery.subject} for body ${r.body}`);
    }
    const one = got.find((r) => r.body === "one");
    const headers = one?.delivery.headers.map((h) => `${h.key}=${new TextDecoder().decode(h.value)}`).join(",");
    checkEqual("PW-PUBSUB-020", headers, "k=1,k=2,K=3", "headers of the Delivery, in order");
    const two = got.find((r) => r.body === "two");
    checkEqual("PW-PUBSUB-023", two?.delivery.subscriptionId, 2, "the subscription that got .a.b");
    checkEqual("PW-PUBSUB-024", two?.delivery.sequence, 2n, "sequence of the second message to `>`");
  },
};

const queueGroups: ConformanceCase = {
  id: "pubsub/queue-groups",
  title: "Members of a queue group (same name and pattern, any connections) share messages: each message goes to exactly one of them, spread among them, while a plain subscription gets every message",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-012", "PW-PUBSUB-013", "PW-PUBSUB-021"],
  features: FEATURES,
  async run(ctx) {
    const p = prefix(ctx, "queue");
    const a = await ctx.connect();
    const b = await ctx.connect();
    await subscribe(a, 1, `${p}.*`, { queueGroup: "workers" });
    await subscribe(a, 2, `${p}.*`, { queueGroup: "workers" });
    await subscribe(b, 1, `${p}.*`, { queueGroup: "workers" });
    await subscribe(b, 2, `${p}.*`);
    const count = 30;
    for (let i = 0; i < count; i++) checkEqual("PW-PUBSUB-012", await publish(b, `${p}.job`, `m${i}`), 2, `routed for message ${i} (one per queue group, plus the plain subscription)`);
    const perMember = new Map<string, number>();
    const seen = new Set<string>();
    const take = async (session: typeof a, name: string, plain: boolean): Promise<void> => {
      for (;;) {
        const r = await anyDelivery(session, 500);
        if (r === undefined) return;
        if (plain && r.delivery.subscriptionId === 2) continue;
        check("PW-PUBSUB-012", !seen.has(r.body), `message ${r.body} reached two members of the queue group`);
        seen.add(r.body);
        const key = `${name}/${r.delivery.subscriptionId}`;
        perMember.set(key, (perMember.get(key) ?? 0) + 1);
      }
    };
    await take(a, "a", false);
    await take(b, "b", true);
    checkEqual("PW-PUBSUB-012", seen.size, count, "messages the queue group got");
    check("PW-PUBSUB-012", perMember.size === 3, `messages went to ${perMember.size} of the 3 members (${[...perMember].join(", ")}); they SHOULD be spread`);
  },
};

const lifecycle: ConformanceCase = {
  id: "pubsub/subscription-lifecycle",
  title: "subscription_id 0 is INVALID_ARGUMENT and a duplicate SUBSCRIPTION_EXISTS; unsubscribe ends a subscription before its answer; after_messages n ends it after n messages; an unknown id is UNKNOWN_SUBSCRIPTION",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-010", "PW-PUBSUB-014"],
  features: FEATURES,
  async run(ctx) {
    const p = prefix(ctx, "life");
    const session = await ctx.connect();
    await expectBrokerError("PW-PUBSUB-010", subscribe(session, 0, p), ErrorCode.INVALID_ARGUMENT, "subscription_id 0");
    await subscribe(session, 5, p);
    await expectBrokerError("PW-PUBSUB-010", subscribe(session, 5, `${p}.other`), ErrorCode.SUBSCRIPTION_EXISTS, "a second subscription 5");
    checkEqual("PW-PUBSUB-010", await publish(session, p, "still"), 1, "routed after the refused duplicate (the first is unchanged)");
    await nextDelivery(session, "PW-PUBSUB-010", "the first subscription's message");
    await session.call(FrameKind.UNSUBSCRIBE_REQUEST, { subscriptionId: 5, afterMessages: 0 });
    checkEqual("PW-PUBSUB-014", await publish(session, p, "gone"), 0, "routed after unsubscribe");
    check("PW-PUBSUB-014", (await anyDelivery(session, 200)) === undefined, "a Delivery followed the UnsubscribeResponse");
    await expectBrokerError("PW-PUBSUB-014", session.call(FrameKind.UNSUBSCRIBE_REQUEST, { subscriptionId: 5 }), ErrorCode.UNKNOWN_SUBSCRIPTION, "unsubscribing 5 twice");
    await subscribe(session, 6, p);
    await session.call(FrameKind.UNSUBSCRIBE_REQUEST, { subscriptionId: 6, afterMessages: 2 });
    const routed = [];
    for (let i = 0; i < 4; i++) routed.push(await publish(session, p, `n${i}`));
    checkEqual("PW-PUBSUB-014", routed.join(","), "1,1,0,0", "routed with after_messages 2");
    for (let i = 0; i < 2; i++) checkEqual("PW-PUBSUB-014", (await nextDelivery(session, "PW-PUBSUB-014", `message ${i}`)).body, `n${i}`, `message ${i}`);
  },
};

const ordering: ConformanceCase = {
  id: "pubsub/order-and-sequence",
  title: "Messages of one publisher reach a subscription in publish order, with sequence numbers 1, 2, 3... without gaps when nothing is dropped",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-024", "PW-PUBSUB-025"],
  features: FEATURES,
  async run(ctx) {
    const p = prefix(ctx, "order");
    const sub = await ctx.connect();
    const pub = await ctx.connect();
    await subscribe(sub, 1, p);
    const count = 500;
    for (let i = 0; i < count - 1; i++) publishQuietly(pub, p, new TextEncoder().encode(String(i)));
    checkEqual("PW-PUBSUB-021", await publish(pub, p, String(count - 1)), 1, "routed of the last message");
    for (let i = 0; i < count; i++) {
      const r = await nextDelivery(sub, "PW-PUBSUB-025", `message ${i}`);
      checkEqual("PW-PUBSUB-025", r.body, String(i), `body of the Delivery number ${i + 1}`);
      checkEqual("PW-PUBSUB-024", r.delivery.sequence, BigInt(i + 1), `sequence of message ${i}`);
    }
  },
};

const subscriptionBound: ConformanceCase = {
  id: "pubsub/subscription-bound",
  title: "A connection's subscriptions are bounded: past the bound a SubscribeRequest fails with TOO_MANY_SUBSCRIPTIONS carrying the limit, changes nothing, and the connection stays",
  plane: "pubsub",
  clauses: ["PW-PUBSUB-016"],
  features: FEATURES,
  timeoutMs: 60_000,
  async run(ctx) {
    const p = prefix(ctx, "bound");
    const session = await ctx.connect();
    // Far past the reference broker's 65,536; a broker with no bound would accept them all.
    const ceiling = 200_000;
    const batch = 512;
    let accepted = 0;
    let refusal: Awaited<ReturnType<typeof expectBrokerError>> | undefined;
    for (let next = 1; next <= ceiling && refusal === undefined; next += batch) {
      const results = await Promise.allSettled(Array.from({ length: batch }, (_, i) => subscribe(session, next + i, `${p}.s${next + i}`)));
      for (const [i, result] of results.entries()) {
        if (result.status === "fulfilled") accepted++;
        else if (refusal === undefined) refusal = await expectBrokerError("PW-PUBSUB-016", Promise.reject(result.reason), ErrorCode.TOO_MANY_SUBSCRIPTIONS, `subscription number ${next + i}`);
      }
    }
    check("PW-PUBSUB-016", refusal !== undefined, `the broker accepted ${ceiling} subscriptions on one connection`);
    check("PW-PUBSUB-016", refusal.limit === BigInt(accepted), `limit of the refusal: expected ${accepted} (the subscriptions held), got ${refusal.limit}`);
    // The refused ones changed nothing: the held ones still work, and the connection serves.
    checkEqual("PW-PUBSUB-016", await publish(session, `${p}.s1`, "x"), 1, "routed to a subscription held before the refusal");
    await expectServing(session, "PW-PUBSUB-016", "after TOO_MANY_SUBSCRIPTIONS");
  },
};

export const routingCases: readonly ConformanceCase[] = [grammar, wildcards, queueGroups, lifecycle, ordering, subscriptionBound];
