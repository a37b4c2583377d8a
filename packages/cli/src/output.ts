import type { CommandIO } from "./command.js";
import type { Palette } from "./colors.js";

/** Lines of a table: a bold header, then rows, columns padded to fit; right-aligns numeric columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], p: Palette): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^(-|-?[0-9][0-9.,]*( ?[a-zA-Z/%]+)?)$/.test(r[i] ?? "")));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join("  ").trimEnd();
  return [p.bold(line(header)), ...rows.map(line)];
}

/** Prints one JSON document on a line; bigints become decimal strings (as protobuf JSON writes int64). */
export function printJson(io: CommandIO, value: unknown): void {
  io.out(JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}

/** `1234567` → `1,234,567`. */
export function grouped(n: number | bigint): string {
  return n.toLocaleString("en-US");
}

/** A byte count in binary units. */
export function bytes(n: number | bigint): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
