/**
 * `@polywire/conformance/ts-adapter`: the client adapter of the reference
 * TypeScript client (`ts-adapter.ts`), for `polywire conformance --client ts`.
 * The adapter runs `@polywire/runtime`, which this entry point needs
 * installed; the rest of the suite does not.
 */
import { fileURLToPath } from "node:url";

const PROGRAM = new URL(`./ts-adapter.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url);

/** The command line (argv) that starts the TypeScript client's adapter. */
export function tsAdapterCommand(): string[] {
  const path = fileURLToPath(PROGRAM);
  // From sources (tests, the CLI without a build) the adapter runs TypeScript through tsx, resolving workspace packages to their sources.
  return path.endsWith(".ts") ? [process.execPath, "--import", "tsx", "--conditions=@polywire/source", path] : [process.execPath, path];
}
