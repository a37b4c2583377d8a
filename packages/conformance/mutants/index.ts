import type { Mutant } from "../src/embedded/implementation.js";
import { mutant as ackBeforeStore } from "./ack-before-store.js";
import { mutant as callToTwoResponders } from "./call-to-two-responders.js";
import { mutant as creditCountedTwice } from "./credit-counted-twice.js";
import { mutant as dropTerminalEvent } from "./drop-terminal-event.js";
import { mutant as dropEvery1000th } from "./drop-every-1000th-record.js";
import { mutant as duplicateOnRetry } from "./duplicate-on-retry.js";
import { mutant as eagerAssignment } from "./eager-assignment.js";
import { mutant as forgetCommits } from "./forget-commits.js";
import { mutant as ignoreMaxFrameSize } from "./ignore-max-frame-size.js";
import { mutant as noRespondersAsDeadline } from "./no-responders-as-deadline.js";
import { mutant as queueGroupTwice } from "./queue-group-twice.js";
import { mutant as reorderBatches } from "./reorder-batches.js";
import { mutant as sequenceWithoutDrops } from "./sequence-without-drops.js";
import { mutant as silentGroupNotices } from "./silent-group-notices.js";
import { mutant as unfencedCommits } from "./unfenced-commits.js";
import { mutant as unbudgetedInFlight } from "./unbudgeted-in-flight.js";
import { mutant as wholeWebSocketMessages } from "./whole-websocket-messages.js";
import { mutant as wrongHighWatermark } from "./wrong-high-watermark.js";

/** Every mutant; later planes add theirs here. */
export const MUTANTS: readonly Mutant[] = [dropEvery1000th, reorderBatches, duplicateOnRetry, ackBeforeStore, wrongHighWatermark, ignoreMaxFrameSize,
  unbudgetedInFlight, wholeWebSocketMessages, eagerAssignment, unfencedCommits, forgetCommits, queueGroupTwice, sequenceWithoutDrops, silentGroupNotices,
  noRespondersAsDeadline, creditCountedTwice, callToTwoResponders, dropTerminalEvent];
