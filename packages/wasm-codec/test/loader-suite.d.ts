/** Types of loader-suite.js, the runtime-neutral loader cases. */
export type LoaderCase = [name: string, run: () => unknown];
export function loaderCases(codec: typeof import("@polywire/wasm-codec"), options: { init: () => Promise<void> }): LoaderCase[];
export function runLoaderSuite(
  codec: typeof import("@polywire/wasm-codec"),
  options: { init: () => Promise<void> },
): Promise<{ name: string; ok: boolean; error?: string }[]>;
