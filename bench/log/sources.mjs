// Importing this module lets the benchmark scripts load the workspace
// packages from their TypeScript sources (the `@polywire/source` export
// condition, .ts through tsx), so no build is needed, as the CLI does from a
// checkout.
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(
      "export async function resolve(specifier, context, next) {" +
        " return next(specifier, { ...context, conditions: [...context.conditions, '@polywire/source'] }); }",
    ),
);
const { register: registerTsx } = await import("tsx/esm/api");
registerTsx();
