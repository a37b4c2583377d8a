/**
 * Histories in the style of Jepsen: each operation is an `invoke` event
 * followed by exactly one completion, `ok`, `fail` (definitely did not
 * happen) or `info` (indeterminate: a timeout or a lost connection, it may
 * or may not have happened).
 */

/** The operations a history records; later planes add theirs (`commit`, `committed` land with groups). */
export type OpFunction = "send" | "poll" | "commit" | "committed";

/** A send: `values` to one partition; ok carries the base offset. */
export interface SendValue {
  readonly partition: number;
  readonly values: readonly string[];
  /** Set on ok: where the first value landed. */
  readonly offset?: bigint;
}

/** A poll: what it asked for per partition; ok carries what it read. */
export interface PollValue {
  /** The offset asked for, per partition. */
  readonly from: ReadonlyMap<number, bigint>;
  /** Set on ok: every record read, as [partition, offset, value], including records below `from` the broker may return. */
  readonly records?: ReadonlyArray<readonly [number, bigint, string]>;
  /** True for the final read of the whole log after the workload. */
  readonly final?: boolean;
}

/** A commit of a group's position, or a read of it (consumer groups). */
export interface CommitValue {
  readonly group: string;
  readonly partition: number;
  readonly offset: bigint;
}

export type OpValue = SendValue | PollValue | CommitValue;

/** One event of a history. */
export interface HistoryEvent {
  readonly index: number;
  /** The logical process (a client); a crashed client's successor is a new process. */
  readonly process: number;
  readonly type: "invoke" | "ok" | "fail" | "info";
  readonly f: OpFunction;
  readonly value: OpValue;
  /** Milliseconds since the history began. */
  readonly time: number;
  /** For completions: why, when not ok. */
  readonly error?: string;
}

/** Records a concurrent history; completions name their invocation. */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  readonly #started = performance.now();

  invoke(process: number, f: OpFunction, value: OpValue): HistoryEvent {
    return this.#push({ process, type: "invoke", f, value });
  }

  complete(invocation: HistoryEvent, type: "ok" | "fail" | "info", value: OpValue = invocation.value, error?: string): HistoryEvent {
    return this.#push({ process: invocation.process, type, f: invocation.f, value, ...(error === undefined ? {} : { error }) });
  }

  #push(event: Omit<HistoryEvent, "index" | "time">): HistoryEvent {
    const full: HistoryEvent = { ...event, index: this.events.length, time: Math.round(performance.now() - this.#started) };
    this.events.push(full);
    return full;
  }
}

/** Pairs each invocation with its completion (or none, if the history ended first: indeterminate). */
export function pairs(events: readonly HistoryEvent[]): Array<{ invoke: HistoryEvent; complete: HistoryEvent | undefined }> {
  const open = new Map<number, HistoryEvent>();
  const out: Array<{ invoke: HistoryEvent; complete: HistoryEvent | undefined }> = [];
  const byInvoke = new Map<HistoryEvent, number>();
  for (const e of events) {
    if (e.type === "invoke") {
      open.set(e.process, e);
      byInvoke.set(e, out.length);
      out.push({ invoke: e, complete: undefined });
    } else {
      const inv = open.get(e.process);
      if (inv !== undefined) {
        open.delete(e.process);
        (out[byInvoke.get(inv) as number] as { complete: HistoryEvent | undefined }).complete = e;
      }
    }
  }
  return out;
}
