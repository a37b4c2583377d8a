// Small files named for the one thing they hold: a source file over 400
// lines is several files. The files that are still over the line when this
// check arrived are listed with the length they had then; each may only
// shrink, and leaves the list once it is under the line (the test says so),
// so the list only gets shorter. Generated code (gen/, dist/) is not ours
// to split.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./snippets.js";

const LIMIT = 400;

/** Files over the limit when the check arrived, with their length then. */
const SHRINKING: Readonly<Record<string, number>> = {
  "packages/wasm-codec/src/batch.rs": 412,
  "packages/cli/test/cli.test.ts": 443,
};

function sourceFiles(): string[] {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "packages", "scripts", "spec", "bench"], { cwd: ROOT, encoding: "utf8" });
  return listed
    .split("\0")
    .filter((path) => /\.(ts|mts|mjs|js|rs)$/.test(path))
    .filter((path) => !/(^|\/)(gen|dist|node_modules|target)\//.test(path) && !path.endsWith(".d.ts"));
}

function lines(path: string): number {
  try {
    return readFileSync(join(ROOT, path), "utf8").split("\n").length - 1;
  } catch {
    return 0; // listed by git but deleted in the working tree
  }
}

describe("file sizes", () => {
  const sizes = new Map(sourceFiles().map((path) => [path, lines(path)]));

  it(`no source file outside generated code is over ${LIMIT} lines, except the listed ones, which only shrink`, () => {
    const over = [...sizes].filter(([path, n]) => n > LIMIT && !(path in SHRINKING)).map(([path, n]) => `${path}: ${n} lines`);
    expect(over, `split these into files of one purpose each`).toEqual([]);
    const grown = Object.entries(SHRINKING)
      .filter(([path, max]) => (sizes.get(path) ?? 0) > max)
      .map(([path, max]) => `${path}: ${sizes.get(path)} lines, was ${max}`);
    expect(grown, "a file over the limit may only shrink").toEqual([]);
  });

  it("the list of files over the limit holds only files still over it", () => {
    const done = Object.keys(SHRINKING).filter((path) => (sizes.get(path) ?? 0) <= LIMIT);
    expect(done, "remove these from SHRINKING in scripts/test/file-size.test.ts: they are under the limit now").toEqual([]);
  });
});
