/**
 * The members of one queue group: subscriptions, on any connections, with
 * the same queue group name and the same pattern (PW-PUBSUB-012). Each
 * routed message goes to exactly one member, chosen round-robin so that
 * messages spread evenly.
 *
 * Members live in an array (O(1) indexed pick) with their positions in a
 * map, so a member leaves in O(1) by swapping the last one into its place:
 * queue groups churn (workers come and go) while messages flow.
 */
export class QueueGroup<S> {
  readonly name: string;
  #members: S[] = [];
  #positions = new Map<S, number>();
  #cursor = 0;

  constructor(name: string) {
    this.name = name;
  }

  get size(): number {
    return this.#members.length;
  }

  /** The members, in no particular order. */
  members(): readonly S[] {
    return this.#members;
  }

  has(member: S): boolean {
    return this.#positions.has(member);
  }

  /** Adds `member`; false if it already was one. */
  add(member: S): boolean {
    if (this.#positions.has(member)) return false;
    this.#positions.set(member, this.#members.length);
    this.#members.push(member);
    return true;
  }

  /** Removes `member`; false if it was not one. */
  remove(member: S): boolean {
    const at = this.#positions.get(member);
    if (at === undefined) return false;
    this.#positions.delete(member);
    const last = this.#members.pop() as S;
    if (at < this.#members.length) {
      this.#members[at] = last;
      this.#positions.set(last, at);
    }
    if (this.#cursor >= this.#members.length) this.#cursor = 0;
    return true;
  }

  /**
   * The member that takes the next message: the next one in turn that has
   * room (`hasRoom`), so a slow member does not lose messages that another
   * could take (the group exists to share work). When none has room, the
   * member whose turn it is takes the message, and drops it, so the drop is
   * accounted for on exactly one subscription (PW-PUBSUB-030). Undefined
   * only for an empty group.
   */
  pick(hasRoom: (member: S) => boolean): S | undefined {
    const members = this.#members;
    const count = members.length;
    if (count === 0) return undefined;
    const start = this.#cursor;
    let at = start;
    for (let tried = 0; tried < count; tried++) {
      const member = members[at] as S;
      at = at + 1 === count ? 0 : at + 1;
      if (hasRoom(member)) {
        this.#cursor = at;
        return member;
      }
    }
    this.#cursor = start + 1 === count ? 0 : start + 1;
    return members[start] as S;
  }
}
