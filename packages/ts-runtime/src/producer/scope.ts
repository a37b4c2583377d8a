import type { ClientContext } from "../context.js";
import type { PolywireError } from "@polywire/core";
import type { ProducerSettings } from "./options.js";

/** What every part of a producer shares: its client, its settings and its fate. */
export interface ProducerScope {
  readonly ctx: ClientContext;
  readonly settings: ProducerSettings;
  /** Aborted when the producer closes: the lookups and requests it makes stop. */
  readonly stop: AbortSignal;
  /** The failure that ended the producer: every record not yet settled, and every later send, fails with it. */
  readonly failure: PolywireError | undefined;
  /** Ends the producer with `error` (a fenced producer id, a failed InitProducer, ...). */
  fatal(error: PolywireError): void;
}
