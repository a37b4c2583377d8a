#!/usr/bin/env node
// The `polywire` command. A published package runs its compiled dist/; a
// source checkout without a build runs the TypeScript sources in-process
// through tsx, resolving workspace packages to their sources (the
// @polywire/source export condition), so signals reach the CLI directly.
import { existsSync } from "node:fs";
import { register } from "node:module";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/bin.js", import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  register(
    "data:text/javascript," +
      encodeURIComponent(
        "export async function resolve(specifier, context, next) {" +
          " return next(specifier, { ...context, conditions: [...context.conditions, '@polywire/source'] }); }",
      ),
  );
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  await import(new URL("../src/bin.ts", import.meta.url).href);
}
