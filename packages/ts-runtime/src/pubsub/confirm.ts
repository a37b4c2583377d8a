import { PolywireError } from "@polywire/core";
import type { Message, MessageHeadersInit } from "./message.js";
import type { PublishOptions } from "./pubsub.js";
import type { Subscription } from "./subscription.js";

/** The header names of the confirmed-publish convention (spec §9.5). */
export const CONFIRM = { request: "pw-confirm", status: "pw-confirm-status", code: "pw-confirm-code" } as const;
/** The code of a handler failure that names none (PW-PUBSUB-041). */
export const HANDLER_FAILED = "HANDLER_FAILED";
/** A failure's message travels cut to this many bytes (PW-PUBSUB-041). */
const MAX_MESSAGE_BYTES = 1_024;
/** How long a confirmed publish waits by default. */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 5_000;

/** What one handler said about a message (PW-PUBSUB-041). */
export type Confirmation = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string };

/** The outcome of a confirmed publish (PW-PUBSUB-042). */
export interface ConfirmResult {
  /** Subscriptions the message went to (one per queue group): the confirmations expected. */
  readonly routed: number;
  /** The confirmations that arrived, in arrival order. */
  readonly confirmations: readonly Confirmation[];
  /** Confirmations that did not arrive before the timeout (the handler was slow, gone, or not a handler). */
  readonly missing: number;
  /** True when every routed subscription confirmed success: nothing failed and nothing is missing. */
  readonly ok: boolean;
}

/** Options of a confirmed publish: `publish(subject, data, { confirm: { timeoutMs } })`. */
export interface ConfirmOptions {
  /** How long to wait for the confirmations, in ms. Default 5,000. */
  readonly timeoutMs?: number;
}

/** Options of a confirmed `client.publish`. */
export interface ConfirmedPublishOptions extends Omit<PublishOptions, "ack" | "replyTo"> {
  /** Ask every handler the message reaches to confirm (PW-PUBSUB-040): `true` for the default timeout. */
  readonly confirm: true | ConfirmOptions;
}

interface Waiting {
  readonly got: Confirmation[];
  expected: number;
  readonly done: () => void;
}

const encoder = new TextEncoder();

/**
 * The publisher's side of confirmed publish: one subscription per client
 * to its own inbox subjects (`_confirm.<random>.<n>`), each confirmed
 * publish waiting on one of them for `routed` answers or its timeout.
 */
export class ConfirmInbox {
  readonly #prefix = `_confirm.${globalThis.crypto.randomUUID().replaceAll("-", "")}`;
  readonly #subscribe: (pattern: string) => Subscription;
  readonly #waiting = new Map<string, Waiting>();
  #subscription: Subscription | undefined;
  #next = 0;

  constructor(subscribe: (pattern: string) => Subscription) {
    this.#subscribe = subscribe;
  }

  /**
   * Publishes through `publish` (given the reply subject and the header to
   * add) and resolves once `routed` confirmations arrived or `timeoutMs` passed.
   */
  async publish(publish: (replyTo: string, header: readonly [string, string]) => Promise<number>, options: ConfirmOptions, signal?: AbortSignal): Promise<ConfirmResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new PolywireError("INVALID_ARGUMENT", `confirm.timeoutMs must be a positive integer, got ${String(timeoutMs)}`);
    const subscription = await this.#inbox();
    const replyTo = `${this.#prefix}.${++this.#next}`;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    // Registered before publishing: a confirmation may arrive before the PublishResponse.
    const waiting: Waiting = { got: [], expected: Number.POSITIVE_INFINITY, done };
    this.#waiting.set(replyTo, waiting);
    try {
      waiting.expected = await publish(replyTo, [CONFIRM.request, "1"]);
      if (waiting.got.length < waiting.expected) {
        const timer = setTimeout(done, timeoutMs);
        const onAbort = (): void => done();
        signal?.addEventListener("abort", onAbort, { once: true });
        // A subscription ending (the client closing) ends the wait too.
        await Promise.race([finished, subscription.closed]);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) throw PolywireError.from(signal.reason, "CANCELLED");
      }
    } finally {
      this.#waiting.delete(replyTo);
    }
    const confirmations = waiting.got.slice(0, waiting.expected);
    const missing = waiting.expected - confirmations.length;
    return { routed: waiting.expected, confirmations, missing, ok: missing === 0 && confirmations.every((c) => c.ok) };
  }

  async #inbox(): Promise<Subscription> {
    if (this.#subscription === undefined || !this.#subscription.active) {
      const subscription = this.#subscribe(`${this.#prefix}.*`);
      this.#subscription = subscription;
      void (async () => {
        for await (const m of subscription) this.#answer(m);
      })().catch(() => undefined);
    }
    await this.#subscription.ready;
    return this.#subscription;
  }

  #answer(m: Message): void {
    const waiting = this.#waiting.get(m.subject);
    // A confirmation for a publish that stopped waiting: late, or a stranger's.
    if (waiting === undefined) return;
    const status = m.header(CONFIRM.status);
    waiting.got.push(status === "ok" ? { ok: true } : { ok: false, code: m.header(CONFIRM.code) ?? HANDLER_FAILED, message: m.text() });
    if (waiting.got.length >= waiting.expected) waiting.done();
  }
}

/** Whether a message asks its handler for a confirmation (PW-PUBSUB-040). */
export function wantsConfirmation(m: Message): boolean {
  return m.replyTo !== "" && m.header(CONFIRM.request) === "1";
}

/** The headers and body of the confirmation of a handler's outcome (PW-PUBSUB-041). */
export function confirmation(error: unknown): { headers: MessageHeadersInit; body: Uint8Array } {
  if (error === undefined) return { headers: [[CONFIRM.status, "ok"]], body: new Uint8Array(0) };
  const code = error instanceof PolywireError ? error.code : typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : HANDLER_FAILED;
  const text = error instanceof Error ? error.message : String(error);
  let body = encoder.encode(text);
  if (body.byteLength > MAX_MESSAGE_BYTES) {
    // Cut on a character boundary: drop the bytes of a split UTF-8 sequence.
    let end = MAX_MESSAGE_BYTES;
    while (end > 0 && ((body[end] as number) & 0xc0) === 0x80) end--;
    body = body.slice(0, end);
  }
  return { headers: [[CONFIRM.status, "error"], [CONFIRM.code, code === "" ? HANDLER_FAILED : code]], body };
}

/** `headers` with one more pair at the end, whichever form they were given in. */
export function withHeader(headers: MessageHeadersInit | undefined, pair: readonly [string, string]): Array<readonly [string, string | Uint8Array]> {
  const pairs = headers === undefined ? [] : Array.isArray(headers) ? [...(headers as ReadonlyArray<readonly [string, string | Uint8Array]>)] : Object.entries(headers);
  return [...pairs, pair];
}
