import { quote } from "../quote.js";

/**
 * A broker setting with a value the broker cannot run with, whether it came
 * from {@link BrokerOptions} or from a config file: `key` names it as the
 * config file writes it (`http.port`, `topics[2].name`,
 * `limits.maxConnections`), and the message starts with that key. Every
 * setting is checked by one function, the one the broker itself runs, so a
 * config file, a command-line flag and the library API get the same answer.
 *
 * A `RangeError`, so that code catching the range errors broker options
 * used to throw keeps working.
 */
export class BrokerConfigError extends RangeError {
  override readonly name = "BrokerConfigError";
  /** The error code of the spec's table for a bad configuration. */
  readonly code = "INVALID_CONFIG";
  /** The offending key, as a path into the config file. */
  readonly key: string;
  /** What is wrong with it: the message without the key (`must be ...`), so a tool can name the key its own way (a flag). */
  readonly problem: string;

  constructor(key: string, problem: string, options?: ErrorOptions) {
    // "tls.cert: cannot read ...", "limits.maxConnections must be ...".
    super(`${key}${problem.startsWith(":") ? "" : " "}${problem}`, options);
    this.key = key;
    this.problem = problem;
  }
}

/** Throws a {@link BrokerConfigError} for `key`. */
export function badSetting(key: string, problem: string, options?: ErrorOptions): never {
  throw new BrokerConfigError(key, problem, options);
}

/**
 * Checks that `value` is an integer from `min` to `max` and returns it; a
 * {@link BrokerConfigError} naming `key` otherwise, saying it must be
 * `what` ("a number of milliseconds") from `min` to `max`.
 */
export function integerSetting(key: string, value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    badSetting(key, `must be ${what} from ${min} to ${max}, got ${quote(value)}`);
  }
  return value;
}
