import { quote } from "../quote.js";
import { badSetting } from "./errors.js";

/**
 * Typed reads of a parsed JSON config file, each naming the key it reads
 * in its {@link BrokerConfigError}. They check the JSON type only; what a
 * value may be is checked by the setting's own function.
 */

/** `key` of an object at the top level, `parent.key` below it. */
export function child(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}

/** A JSON object whose keys are all in `known` (any key when `known` is undefined). */
export function object(key: string, value: unknown, known?: readonly string[]): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) badSetting(key === "" ? "(top level)" : key, "must be a JSON object");
  const entries = value as Record<string, unknown>;
  if (known !== undefined) {
    for (const k of Object.keys(entries)) {
      if (!known.includes(k)) badSetting(child(key, k), `is not a config key; known${key === "" ? "" : ` in ${key}`}: ${known.join(", ")}`);
    }
  }
  return entries;
}

export function string(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") badSetting(key, `must be a string, got ${quote(value)}`);
  return value;
}

export function number(key: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") badSetting(key, `must be a number, got ${quote(value)}`);
  return value;
}

export function boolean(key: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") badSetting(key, `must be true or false, got ${quote(value)}`);
  return value;
}

export function array(key: string, value: unknown): unknown[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) badSetting(key, `must be an array, got ${quote(value)}`);
  return value;
}

/** An object of string values (topic config entries). */
export function strings(key: string, value: unknown): Record<string, string> | undefined {
  const o = object(key, value);
  if (o === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[k] = string(`${key}[${quote(k)}]`, v) as string;
  return out;
}
