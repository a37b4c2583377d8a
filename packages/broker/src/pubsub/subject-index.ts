import { QueueGroup } from "./queue-group.js";
import { patternMatches, subjectTokens, type Pattern } from "@polywire/core";

/** What the index needs of a subscription. */
export interface Indexed {
  readonly pattern: Pattern;
  /** Empty for a subscription outside any queue group. */
  readonly queueGroup: string;
}

/**
 * The subscriptions one subject matches: every plain one, and every queue
 * group (of which the router picks one member per message, PW-PUBSUB-013).
 */
export interface Match<S> {
  readonly plain: readonly S[];
  readonly groups: readonly QueueGroup<S>[];
}

/** Subscriptions whose pattern ends at one trie position. */
class Slot<S> {
  readonly plain = new Set<S>();
  readonly groups = new Map<string, QueueGroup<S>>();

  get empty(): boolean {
    return this.plain.size === 0 && this.groups.size === 0;
  }

  collect(plain: S[], groups: QueueGroup<S>[]): void {
    for (const s of this.plain) plain.push(s);
    for (const g of this.groups.values()) groups.push(g);
  }
}

/**
 * One position in the token trie: the pattern prefix that leads here. A
 * pattern whose last token is reached here sits in `exact`; one that goes
 * on with `>` sits in `rest` (it matches whatever one or more tokens
 * follow).
 */
class Node<S> {
  literals: Map<string, Node<S>> | undefined;
  star: Node<S> | undefined;
  exact: Slot<S> | undefined;
  rest: Slot<S> | undefined;

  get empty(): boolean {
    return this.literals === undefined && this.star === undefined && this.exact === undefined && this.rest === undefined;
  }
}

/** Subjects remembered by default: as NATS's sublist, a small cache covers the hot subjects. */
export const DEFAULT_CACHE_SIZE = 1024;

const NO_MATCH: Match<never> = Object.freeze({ plain: Object.freeze([]), groups: Object.freeze([]) });

/**
 * The subject index: subscriptions in a trie of pattern tokens, with `*`
 * and `>` as nodes of their own, as NATS's sublist. Matching a subject
 * walks at most two branches per token (the literal and `*`), so its cost
 * grows with the subject's length and the number of matching patterns, not
 * with the number of subscriptions.
 *
 * Results are cached per subject seen twice (a bounded map, the oldest
 * quarter out when full).
 * A change invalidates exactly the cached subjects the changed pattern
 * matches: one map delete for a literal pattern (the common case, and the
 * one that churns, e.g. reply inboxes), a scan of the cache for a wildcard
 * one. A member joining or leaving an existing queue group changes no
 * cached result: results hold the group itself.
 */
export class SubjectIndex<S extends Indexed> {
  #root = new Node<S>();
  #cache = new Map<string, Match<S>>();
  // Subjects that missed once since this set was last cleared: a subject
  // is cached on its second miss, so one-off subjects (reply inboxes,
  // per-entity subjects) neither evict hot entries nor leave results that
  // live just long enough to be promoted by the garbage collector.
  #seenOnce = new Set<string>();
  #cacheSize: number;
  #count = 0;

  constructor(options: { cacheSize?: number } = {}) {
    this.#cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  }

  /** Subscriptions in the index. */
  get size(): number {
    return this.#count;
  }

  /** Subjects whose result is cached. */
  get cached(): number {
    return this.#cache.size;
  }

  add(sub: S): void {
    const tokens = sub.pattern.tokens;
    let node = this.#root;
    const last = tokens.length - 1;
    const rest = tokens[last] === ">";
    const depth = rest ? last : tokens.length;
    for (let i = 0; i < depth; i++) {
      const token = tokens[i] as string;
      if (token === "*") {
        node = node.star ??= new Node<S>();
      } else {
        node.literals ??= new Map();
        let child = node.literals.get(token);
        if (child === undefined) {
          child = new Node<S>();
          node.literals.set(token, child);
        }
        node = child;
      }
    }
    const slot = rest ? (node.rest ??= new Slot<S>()) : (node.exact ??= new Slot<S>());
    if (sub.queueGroup === "") {
      if (slot.plain.has(sub)) return;
      slot.plain.add(sub);
      this.#invalidate(sub.pattern);
    } else {
      let group = slot.groups.get(sub.queueGroup);
      if (group === undefined) {
        group = new QueueGroup<S>(sub.queueGroup);
        slot.groups.set(sub.queueGroup, group);
        this.#invalidate(sub.pattern);
      }
      if (!group.add(sub)) return;
    }
    this.#count++;
  }

  /** Removes `sub`; false if it was not in the index. Empty trie nodes are pruned, so churn leaves nothing behind. */
  remove(sub: S): boolean {
    const tokens = sub.pattern.tokens;
    const last = tokens.length - 1;
    const rest = tokens[last] === ">";
    const depth = rest ? last : tokens.length;
    const path: Node<S>[] = [this.#root];
    let node: Node<S> | undefined = this.#root;
    for (let i = 0; i < depth && node !== undefined; i++) {
      const token = tokens[i] as string;
      node = token === "*" ? node.star : node.literals?.get(token);
      if (node !== undefined) path.push(node);
    }
    if (node === undefined) return false;
    const slot = rest ? node.rest : node.exact;
    if (slot === undefined) return false;
    if (sub.queueGroup === "") {
      if (!slot.plain.delete(sub)) return false;
      this.#invalidate(sub.pattern);
    } else {
      const group = slot.groups.get(sub.queueGroup);
      if (group === undefined || !group.remove(sub)) return false;
      if (group.size === 0) {
        slot.groups.delete(sub.queueGroup);
        this.#invalidate(sub.pattern);
      }
    }
    this.#count--;
    if (slot.empty) {
      if (rest) node.rest = undefined;
      else node.exact = undefined;
      this.#prune(path, tokens);
    }
    return true;
  }

  // Walks back up from the deepest node, unlinking nodes left empty.
  #prune(path: Node<S>[], tokens: readonly string[]): void {
    for (let i = path.length - 1; i > 0; i--) {
      const node = path[i] as Node<S>;
      if (!node.empty) return;
      const parent = path[i - 1] as Node<S>;
      const token = tokens[i - 1] as string;
      if (token === "*") {
        parent.star = undefined;
      } else if (parent.literals !== undefined) {
        parent.literals.delete(token);
        if (parent.literals.size === 0) parent.literals = undefined;
      }
    }
  }

  #invalidate(pattern: Pattern): void {
    if (this.#cache.size === 0) return;
    if (!pattern.wildcard) {
      this.#cache.delete(pattern.text);
      return;
    }
    // Cached subjects are valid, so a plain split gives their tokens.
    // Splitting here rather than keeping each entry's tokens keeps a miss
    // from retaining five more objects for the collector to promote.
    for (const subject of this.#cache.keys()) {
      if (patternMatches(pattern.tokens, subject.split("."))) this.#cache.delete(subject);
    }
  }

  /**
   * The subscriptions `subject` matches (PW-PUBSUB-002, -003, -013).
   * Throws INVALID_SUBJECT for a subject that breaks the grammar; a cached
   * subject was checked when it was first matched. The result is shared
   * and must not be changed.
   */
  match(subject: string): Match<S> {
    const hit = this.#cache.get(subject);
    if (hit !== undefined) return hit;
    const tokens = subjectTokens(subject);
    const plain: S[] = [];
    const groups: QueueGroup<S>[] = [];
    // PW-PUBSUB-003: a wildcard in the first position never matches a reserved subject.
    const reserved = (tokens[0] as string).charCodeAt(0) === 0x24;
    collect(this.#root, tokens, 0, plain, groups, reserved);
    const match: Match<S> = plain.length === 0 && groups.length === 0 ? NO_MATCH : { plain, groups };
    if (this.#cacheSize > 0) this.#admit(subject, match);
    return match;
  }

  #admit(subject: string, match: Match<S>): void {
    if (!this.#seenOnce.delete(subject)) {
      if (this.#seenOnce.size >= 4 * this.#cacheSize) this.#seenOnce.clear();
      this.#seenOnce.add(subject);
      return;
    }
    if (this.#cache.size >= this.#cacheSize) this.#evict();
    this.#cache.set(subject, match);
  }

  // Drops the oldest quarter of the cache in one pass. One entry per miss
  // would make every miss walk past the deleted entries at the front of
  // the Map (they stay until it rehashes); a batch pays that walk once.
  #evict(): void {
    let drop = Math.max(1, this.#cacheSize >> 2);
    for (const subject of this.#cache.keys()) {
      this.#cache.delete(subject);
      if (--drop === 0) break;
    }
  }
}

function collect<S>(node: Node<S>, tokens: readonly string[], at: number, plain: S[], groups: QueueGroup<S>[], reserved: boolean): void {
  if (at === tokens.length) {
    node.exact?.collect(plain, groups);
    return;
  }
  const wild = !(reserved && at === 0);
  // `>` matches one or more tokens, and at least one remains here.
  if (wild) node.rest?.collect(plain, groups);
  const literal = node.literals?.get(tokens[at] as string);
  if (literal !== undefined) collect(literal, tokens, at + 1, plain, groups, reserved);
  if (wild && node.star !== undefined) collect(node.star, tokens, at + 1, plain, groups, reserved);
}
