// Imported with `node --import` (and by ab-stack.mjs): when
// POLYWIRE_CODEC_AT names a directory holding a copy of some workspace
// packages' sources (bench/out/<name>-<revision>), a workspace package
// imported by a file under it resolves to that copy's sources when the copy
// has them: "@polywire/wasm-codec" to its packages/wasm-codec/src, and
// likewise "@polywire/core" and "@polywire/runtime". So a copy of the
// runtime or broker sources runs on its own revision's codec and protocol
// core while every other file keeps the working tree's.
import { existsSync } from "node:fs";
import { register } from "node:module";
import { pathToFileURL } from "node:url";

const PACKAGES = { "@polywire/wasm-codec": "wasm-codec", "@polywire/core": "core", "@polywire/runtime": "ts-runtime" };

const at = process.env.POLYWIRE_CODEC_AT;
if (at !== undefined && at !== "") {
  const base = pathToFileURL(`${at}/`).href;
  const targets = Object.fromEntries(
    Object.entries(PACKAGES)
      .filter(([, folder]) => existsSync(`${at}/packages/${folder}/src/index.ts`))
      .map(([name, folder]) => [name, `${base}packages/${folder}/src/index.ts`]),
  );
  register(
    "data:text/javascript," +
      encodeURIComponent(
        `const base = ${JSON.stringify(base)}; const targets = ${JSON.stringify(targets)};` +
          " export async function resolve(specifier, context, next) {" +
          "  const target = targets[specifier];" +
          "  if (target !== undefined && context.parentURL !== undefined && context.parentURL.startsWith(base)) return next(target, context);" +
          "  return next(specifier, context); }",
      ),
  );
}
