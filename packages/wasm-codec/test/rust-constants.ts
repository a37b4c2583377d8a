import { readFileSync } from "node:fs";

/**
 * The `pub const NAME: type = value;` items at the top level of a Rust
 * source file of this crate, or with `module` those inside its
 * `pub mod <module> { ... }`, for tests that check a TypeScript twin
 * against them. Values are integer literals, with `_` separators, hex or a
 * leading minus: the files keep them so.
 */
export function rustConstants(file: string, module?: string): Map<string, number> {
  let source = readFileSync(new URL(`../src/${file}`, import.meta.url), "utf8");
  if (module !== undefined) {
    const start = source.indexOf(`pub mod ${module} {`);
    if (start < 0) throw new Error(`no module ${module} in ${file}`);
    source = source.slice(start, source.indexOf("\n}", start));
  }
  const constants = new Map<string, number>();
  const item = module === undefined ? /^pub const (\w+): \w+ = ([^;]+);/gm : /^\s+pub const (\w+): \w+ = ([^;]+);/gm;
  for (const m of source.matchAll(item)) {
    const literal = m[2]!.replace(/_/g, "");
    if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(literal)) continue;
    constants.set(m[1]!, Number(literal.startsWith("-") ? -Number(literal.slice(1)) : Number(literal)));
  }
  return constants;
}
