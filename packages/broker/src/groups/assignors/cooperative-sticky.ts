import { compareBytes, PartitionSet } from "../partition-set.js";
import { membersInOrder, subscribedTopics, type AssignorInput, type TargetAssignment } from "./types.js";

/**
 * ASSIGNOR_COOPERATIVE_STICKY (PW-GROUP-034, PW-GROUP-035), in three steps:
 *
 * 1. Keep: every partition stays with its owner in the previous target while
 *    that owner is still a member subscribed to its topic.
 * 2. Hand out the free partitions in (topic, partition) order, each to an
 *    eligible member with the fewest partitions, ties by member id.
 * 3. Balance: while some partition can go from its member to an eligible one
 *    with at least two fewer, move one: from the member with the most
 *    partitions that has such a move (ties by member id), of the topic whose
 *    best receiver has the fewest partitions (ties by topic), its highest
 *    partition, to that receiver (fewest partitions, ties by member id).
 *
 * Step 2 fills the least loaded members first, so step 3 only moves what
 * balance forces; with identical subscriptions this moves the fewest
 * partitions any balanced target can (tested against the closed form).
 * Members are handled by their index in member id order ("rank"), so every
 * tie-break is a comparison of small integers.
 */
export function cooperativeStickyAssign(input: AssignorInput): TargetAssignment {
  const ordered = membersInOrder(input.members);
  const sets = ordered.map(() => new PartitionSet());
  const subscribers = new Map<string, number[]>();
  for (const topic of subscribedTopics(input)) {
    const ranks: number[] = [];
    ordered.forEach((m, rank) => {
      if (m.topics.has(topic)) ranks.push(rank);
    });
    subscribers.set(topic, ranks);
  }

  // 1. Keep. Previous targets are disjoint when the broker made them; a
  // partition claimed twice stays with the first claimant in member id order.
  const kept = new PartitionSet();
  ordered.forEach((member, rank) => {
    const previous = input.previous.get(member.memberId);
    const set = sets[rank];
    if (previous === undefined || set === undefined) return;
    for (const topic of previous.topics()) {
      const partitions = input.partitionCounts.get(topic) ?? 0;
      if (!member.topics.has(topic)) continue;
      for (const partition of previous.partitionsOf(topic)) {
        if (partition >= partitions || kept.has(topic, partition)) continue;
        kept.add(topic, partition);
        set.add(topic, partition);
      }
    }
  });

  // 2. Hand out free partitions. Counts only grow here, so a per-topic heap
  // whose stale entries are re-queued on the way out finds the lightest
  // member in logarithmic time.
  const size = (rank: number): number => sets[rank]?.size ?? 0;
  for (const [topic, ranks] of subscribers) {
    const taken = kept.partitionsOf(topic);
    const partitions = input.partitionCounts.get(topic) ?? 0;
    if (taken.size === partitions) continue;
    const heap = new LightestHeap(ranks, size);
    for (let partition = 0; partition < partitions; partition++) {
      if (!taken.has(partition)) sets[heap.popLightest()]?.add(topic, partition);
    }
  }

  // 3. Balance. Each move lowers the sum of squared counts by at least 2,
  // so the loop ends.
  for (let move = nextMove(sets, subscribers); move !== null; move = nextMove(sets, subscribers)) {
    sets[move.from]?.delete(move.topic, move.partition);
    sets[move.to]?.add(move.topic, move.partition);
  }
  return new Map(ordered.map((m, rank) => [m.memberId, sets[rank] ?? new PartitionSet()]));
}

interface Move {
  readonly from: number;
  readonly to: number;
  readonly topic: string;
  readonly partition: number;
}

function lightest(ranks: readonly number[], sets: readonly PartitionSet[]): number | undefined {
  let best: number | undefined;
  // Ranks are ascending, so the first of equal counts wins the tie.
  for (const r of ranks) if (best === undefined || (sets[r]?.size ?? 0) < (sets[best]?.size ?? 0)) best = r;
  return best;
}

/** The donor's move of step 3, or null when it has none; `lightestOf` is the lightest eligible member of a topic. */
function moveFrom(donor: number, sets: readonly PartitionSet[], lightestOf: (topic: string) => number | undefined): Move | null {
  const from = sets[donor];
  if (from === undefined) return null;
  let best: { topic: string; to: number; load: number } | null = null;
  for (const topic of [...from.topics()].sort(compareBytes)) {
    const to = lightestOf(topic);
    const load = to === undefined ? Number.POSITIVE_INFINITY : (sets[to]?.size ?? 0);
    if (to === undefined || load > from.size - 2) continue;
    if (best === null || load < best.load) best = { topic, to, load };
  }
  if (best === null) return null;
  return { from: donor, to: best.to, topic: best.topic, partition: Math.max(...from.partitionsOf(best.topic)) };
}

function nextMove(sets: readonly PartitionSet[], subscribers: ReadonlyMap<string, number[]>): Move | null {
  let top = 0;
  let least = Number.POSITIVE_INFINITY;
  sets.forEach((s, r) => {
    if (s.size > (sets[top]?.size ?? 0)) top = r;
    least = Math.min(least, s.size);
  });
  // Nobody can receive from anybody: the usual way the loop ends.
  if ((sets[top]?.size ?? 0) - least < 2) return null;
  const memo = new Map<string, number | undefined>();
  const lightestOf = (topic: string): number | undefined => {
    if (!memo.has(topic)) memo.set(topic, lightest(subscribers.get(topic) ?? [], sets));
    return memo.get(topic);
  };
  // The heaviest member (ties by rank) almost always has the move; the full
  // donor order is only needed when it has none.
  const first = moveFrom(top, sets, lightestOf);
  if (first !== null) return first;
  const donors = sets.map((_, r) => r).sort((a, b) => (sets[b]?.size ?? 0) - (sets[a]?.size ?? 0) || a - b);
  for (const donor of donors) {
    if ((sets[donor]?.size ?? 0) < 2) break;
    if (donor === top) continue;
    const move = moveFrom(donor, sets, lightestOf);
    if (move !== null) return move;
  }
  return null;
}

/**
 * A min-heap of member ranks by (count, rank). Entries carry the count they
 * were queued with; counts only grow while it is used, so a popped entry
 * whose count is out of date is queued again with the current one, and the
 * first up-to-date entry popped is the true minimum.
 */
class LightestHeap {
  readonly #items: [count: number, rank: number][];
  readonly #count: (rank: number) => number;

  constructor(ranks: readonly number[], count: (rank: number) => number) {
    this.#count = count;
    this.#items = [];
    for (const r of ranks) this.#push([count(r), r]);
  }

  /** The lightest member's rank; it stays queued with its count plus the one partition it is about to get. */
  popLightest(): number {
    for (;;) {
      const top = this.#items[0];
      if (top === undefined) throw new RangeError("no eligible member");
      const current = this.#count(top[1]);
      this.#replaceTop([current === top[0] ? current + 1 : current, top[1]]);
      if (current === top[0]) return top[1];
    }
  }

  static #less(a: [number, number], b: [number, number]): boolean {
    return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  }

  #push(item: [number, number]): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (p === undefined || !LightestHeap.#less(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  #replaceTop(item: [number, number]): void {
    const items = this.#items;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let child = l;
      const left = items[l];
      const right = items[r];
      if (left === undefined) break;
      if (right !== undefined && LightestHeap.#less(right, left)) child = r;
      const c = items[child];
      if (c === undefined || !LightestHeap.#less(c, item)) break;
      items[i] = c;
      i = child;
    }
    items[i] = item;
  }
}
