// Imported with `node --import` (and by ab-codec.mjs): when
// POLYWIRE_CODEC_AT names a directory, "@polywire/wasm-codec" imported by a
// file under it resolves to that directory's packages/wasm-codec/src, so a
// copy of the runtime or broker sources there runs on another revision's
// codec while every other file keeps the working tree's.
import { register } from "node:module";
import { pathToFileURL } from "node:url";

const at = process.env.POLYWIRE_CODEC_AT;
if (at !== undefined && at !== "") {
  const base = pathToFileURL(`${at}/`).href;
  register(
    "data:text/javascript," +
      encodeURIComponent(
        `const base = ${JSON.stringify(base)};` +
          " export async function resolve(specifier, context, next) {" +
          "  if (specifier === '@polywire/wasm-codec' && context.parentURL !== undefined && context.parentURL.startsWith(base))" +
          "   return next(base + 'packages/wasm-codec/src/index.ts', context);" +
          "  return next(specifier, context); }",
      ),
  );
}
