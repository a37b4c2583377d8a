import type { ProgressListener } from "../runner/run.js";
import { caseLine, PLAIN, type Styles } from "./summary.js";

/** Where progress goes. */
export interface ProgressSink {
  /** Writes a permanent line. */
  line(text: string): void;
  /**
   * Replaces the status line ("" clears it); present only on a terminal.
   * With it, progress is a bar with the current case, redrawn in place.
   */
  status?(text: string): void;
  /** Terminal width, to fit the status line. Default 100. */
  readonly columns?: number;
}

/**
 * On a terminal: a status line with a progress bar, counts, elapsed time
 * and the current case, and a permanent line for every case that did not
 * pass. Elsewhere (CI logs, pipes): one plain line per finished case.
 */
export function progressListener(sink: ProgressSink, styles: Styles = PLAIN): ProgressListener {
  let failed = 0;
  let done = 0;
  let total = 0;
  const started = performance.now();
  const status = sink.status;
  const bar = (current: string): string => {
    const width = 24;
    const filled = total === 0 ? width : Math.round((width * done) / total);
    const elapsed = ((performance.now() - started) / 1000).toFixed(0);
    const head = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${elapsed}s `;
    const tally = failed > 0 ? `${failed} failed ` : "";
    const room = (sink.columns ?? 100) - 1 - head.length - tally.length;
    const name = current.length > room ? `${current.slice(0, Math.max(0, room - 1))}…` : current;
    return `${head}${failed > 0 ? styles.red(tally) : ""}${name}`;
  };
  return {
    started(count, target) {
      total = count;
      sink.line(`running ${count} cases against ${target}`);
    },
    caseStarted(name) {
      status?.(bar(name));
    },
    caseFinished(result, index, count) {
      done = index;
      if (result.status === "failed" || result.status === "fixed") failed++;
      if (status === undefined) {
        sink.line(caseLine(result, index, count, styles));
        return;
      }
      if (result.status !== "passed" && result.status !== "not-applicable" && result.status !== "skipped") {
        status("");
        sink.line(caseLine(result, index, count, styles));
      }
      status(index === count ? "" : bar(""));
    },
  };
}
