#!/usr/bin/env node
// Routing cost of the broker's pub/sub core (packages/broker/src/pubsub)
// with 100,000 subscriptions against 10, cache hit and miss, and against a
// naive linear matcher (every pattern tested against every message: what a
// broker without an index does) in the same run, interleaved.
//
//   node bench/pubsub/route.mjs [--rounds 7]
//
// Both subscription sets hold the same subscriptions matching the measured
// subjects (4 plain wildcard subscriptions and a queue group of 3, so every
// message is routed to 5); the 100,000 set adds 99,993 unrelated ones in
// another namespace: literal subjects, `*` in the second to fourth
// positions, `>` tails, 1% with `*` first (walked for every subject), and
// 5% in queue groups. So the two differ only in what the index must skip.
//
// Rows:
//   match            SubjectIndex.match alone (what the naive matcher does)
//   publish+drain    PubSubRouter.publish into the endpoints' queues, with
//                    the queues drained every 1,000 messages (no socket)
//   naive            the same subscriptions in an array, each pattern
//                    tested against each message (patternMatches)
//   in-process       one subscription, publish of a 64-byte body and drain
//                    into a handler that reads it, every message or every
//                    64: the core's share of a memory:// publish->deliver
// "hit": 100 distinct subjects, all cached after the first round; "miss":
// 4,096 distinct subjects in turn, four times the 1,024-entry cache.
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";

register();
const { DEFAULT_CACHE_SIZE, PubSubRouter, SubjectIndex, parsePattern, patternMatches, subjectTokens } = await import("../../packages/broker/src/pubsub/index.ts");

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "7" } } });
const ROUNDS = Number(args.rounds);

// A small seeded generator, so every run routes the same subscriptions.
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MATCHING = [
  { pattern: "bench.orders.>", group: "" },
  { pattern: "bench.orders.eu.*", group: "" },
  { pattern: "bench.*.eu.*", group: "" },
  { pattern: "bench.>", group: "" },
  { pattern: "bench.orders.*.*", group: "workers" },
  { pattern: "bench.orders.*.*", group: "workers" },
  { pattern: "bench.orders.*.*", group: "workers" },
];
const ROUTED = 5;

function unrelated(count) {
  const random = prng(17);
  const pick = (n) => Math.floor(random() * n);
  const events = ["created", "updated", "deleted", "shipped", "paid", "refunded"];
  const out = [];
  for (let i = 0; i < count; i++) {
    const t = [`svc${pick(100)}`, `r${pick(20)}`, `e${pick(5000)}`, events[pick(events.length)]];
    const kind = random();
    let pattern;
    if (kind < 0.6) pattern = t.join(".");
    else if (kind < 0.75) pattern = [t[0], t[1], "*", t[3]].join(".");
    else if (kind < 0.85) pattern = [t[0], "*", t[2], t[3]].join(".");
    else if (kind < 0.9) pattern = [t[0], t[1], t[2], "*"].join(".");
    else if (kind < 0.99) pattern = random() < 0.5 ? `${t[0]}.${t[1]}.>` : `${t[0]}.>`;
    else pattern = ["*", t[1], t[2], t[3]].join(".");
    out.push({ pattern, group: random() < 0.05 ? `g${pick(50)}` : "" });
  }
  return out;
}

function subscriptionSet(total) {
  return [...MATCHING, ...(total === 10 ? unrelated(3) : unrelated(total - MATCHING.length))];
}

// Subjects as a broker sees them: each publish brings a fresh string
// (decoded from its frame), whose hash V8 has not computed yet; `fresh`
// makes such a copy, flat like a decoder's output. "hit" inputs are fresh
// copies of 100 subjects that are cached after the warm-up; "miss" inputs
// are subjects never seen before (reply inboxes, per-entity subjects),
// which the cache admits only on a second sighting.
const fresh = (subject) => subject.split(".").join(".");
const HOT = Array.from({ length: 100 }, (_, i) => `bench.orders.eu.o${i}`);
let unique = 0;
const hotInputs = (count) => Array.from({ length: count }, (_, i) => fresh(HOT[i % HOT.length]));
const missInputs = (count) => Array.from({ length: count }, () => ["bench", "orders", "eu", `u${++unique}`].join("."));

function indexOf(set) {
  const index = new SubjectIndex();
  for (const { pattern, group } of set) index.add({ pattern: parsePattern(pattern), queueGroup: group });
  return index;
}

function naiveOf(set) {
  return set.map(({ pattern, group }) => ({ tokens: parsePattern(pattern).tokens, group }));
}

// One matcher run: the match count keeps the JIT from dropping the work, and checks it.
function runMatch(index, subjects) {
  const count = subjects.length;
  let found = 0;
  for (let i = 0; i < count; i++) {
    const m = index.match(subjects[i]);
    found += m.plain.length + m.groups.length;
  }
  if (found !== count * ROUTED) throw new Error(`index matched ${found}, expected ${count * ROUTED}`);
}

function runNaive(list, subjects) {
  const count = subjects.length;
  let found = 0;
  for (let i = 0; i < count; i++) {
    const tokens = subjectTokens(subjects[i]);
    const groups = new Set();
    for (const s of list) {
      if (!patternMatches(s.tokens, tokens)) continue;
      if (s.group === "") found++;
      else groups.add(s.group);
    }
    found += groups.size;
  }
  if (found !== count * ROUTED) throw new Error(`naive matched ${found}, expected ${count * ROUTED}`);
}

function routerOf(set) {
  const router = new PubSubRouter();
  const sink = { wake() {} };
  const endpoints = [];
  let endpoint;
  set.forEach(({ pattern, group }, i) => {
    // The matching ones each on a connection of their own; the rest 1,000 to a connection.
    if (i < MATCHING.length || (i - MATCHING.length) % 1000 === 0) {
      endpoint = router.endpoint(sink);
      endpoints.push(endpoint);
    }
    endpoint.subscribe(i + 1, pattern, group);
  });
  return { router, endpoints };
}

const message = { body: new Uint8Array(64) };
const noop = () => true;
function runPublish({ router, endpoints }, subjects) {
  const count = subjects.length;
  let routed = 0;
  for (let i = 0; i < count; i++) {
    routed += router.publish(subjects[i], message, 64);
    if (i % 1000 === 999) for (const e of endpoints) e.drain(noop);
  }
  for (const e of endpoints) e.drain(noop);
  if (routed !== count * ROUTED) throw new Error(`routed ${routed}, expected ${count * ROUTED}`);
}

// The in-process ceiling: one subscriber, the handler reads the last byte.
function inProcess(every) {
  const router = new PubSubRouter();
  const endpoint = router.endpoint({ wake() {} });
  endpoint.subscribe(1, "bench.one");
  const body = new Uint8Array(64).fill(1);
  let seen = 0;
  const handler = (_sub, _seq, m) => {
    seen += m.body[63];
  };
  return (inputs) => {
    const count = inputs.length;
    seen = 0;
    for (let i = 0; i < count; i++) {
      router.publish("bench.one", { body }, 64);
      if (i % every === every - 1) endpoint.drain(handler);
    }
    endpoint.drain(handler);
    if (seen !== count) throw new Error(`delivered ${seen} of ${count}`);
  };
}

console.error("building subscription sets...");
const sets = { 10: subscriptionSet(10), 100_000: subscriptionSet(100_000) };
const built = {};
for (const [n, set] of Object.entries(sets)) built[n] = { index: indexOf(set), naive: naiveOf(set), router: routerOf(set) };

const OPS = 200_000;
const cases = [];
for (const n of ["10", "100000"]) {
  const b = built[n];
  const label = n === "10" ? "10" : "100,000";
  cases.push({ name: `match, cache hit, ${label} subs`, n, kind: "match", count: OPS, inputs: hotInputs, run: (xs) => runMatch(b.index, xs) });
  cases.push({ name: `match, cache miss, ${label} subs`, n, kind: "match-miss", count: OPS, inputs: missInputs, run: (xs) => runMatch(b.index, xs) });
  cases.push({ name: `publish+drain, cache hit, ${label} subs`, n, kind: "publish", count: OPS, inputs: hotInputs, run: (xs) => runPublish(b.router, xs) });
  cases.push({ name: `publish+drain, cache miss, ${label} subs`, n, kind: "publish-miss", count: OPS, inputs: missInputs, run: (xs) => runPublish(b.router, xs) });
  cases.push({ name: `naive linear matcher, ${label} subs`, n, kind: "naive", count: n === "10" ? OPS : 400, inputs: missInputs, run: (xs) => runNaive(b.naive, xs) });
}
// memory:// publishes the application's own string: no decoding, so the
// same (hashed) string each time, as here.
const once = inProcess(1);
const by64 = inProcess(64);
const same = (count) => new Array(count).fill("bench.one");
cases.push({ name: "in-process publish->deliver, 1 sub, drained per message", n: "1", kind: "in-process", count: 2_000_000, inputs: same, run: once });
cases.push({ name: "in-process publish->deliver, 1 sub, drained per 64", n: "1", kind: "in-process-64", count: 2_000_000, inputs: same, run: by64 });

// Warm-up: every case twice (the second time caches the hot subjects), so
// V8 has optimised each path before timing.
for (const c of cases) for (let i = 0; i < 2; i++) c.run(c.inputs(Math.min(c.count, 20_000)));

const wall = new Map(cases.map((c) => [c.name, []]));
const cpu = new Map(cases.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Start each round one case later, so no case always runs first after a GC.
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(round + k) % cases.length];
    const inputs = c.inputs(c.count);
    globalThis.gc?.();
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    c.run(inputs);
    wall.get(c.name).push(Number(process.hrtime.bigint() - start) / c.count);
    const used = process.cpuUsage(cpu0);
    cpu.get(c.name).push(((used.user + used.system) * 1000) / c.count);
  }
  console.error(`round ${round + 1}/${ROUNDS} done`);
}

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const fmt = (ns) => (ns >= 10_000 ? `${(ns / 1000).toFixed(0)} µs` : ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const median = (name) => summary(wall.get(name)).median;

const os = await import("node:os");
console.log(`Run ${new Date().toISOString()}; ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${ROUNDS} rounds; wall time per message, min / **median** / max, and the median of CPU time per message (the process's, which a loaded machine inflates less).`);
console.log("");
console.log("| case | wall per message | CPU per message | ÷ same case with 10 subs | naive ÷ this |");
console.log("|---|---|---|---|---|");
for (const c of cases) {
  const { min, median: med, max } = summary(wall.get(c.name));
  const small = cases.find((d) => d.kind === c.kind && d.n === "10");
  const naive = cases.find((d) => d.kind === "naive" && d.n === c.n);
  const vsSmall = c.n !== "100000" ? "—" : `${(med / median(small.name)).toFixed(2)}×`;
  const vsNaive = c.kind === "naive" || naive === undefined ? "—" : `${(median(naive.name) / med).toFixed(1)}×`;
  const rate = c.n === "1" ? ` (${(1e3 / med).toFixed(2)} M msg/s)` : "";
  console.log(`| ${c.name} | ${fmt(min)} / **${fmt(med)}** / ${fmt(max)}${rate} | ${fmt(summary(cpu.get(c.name)).median)} | ${vsSmall} | ${vsNaive} |`);
}
