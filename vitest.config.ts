import { defineConfig } from "vitest/config";

// Tests run against the TypeScript sources of workspace packages (the
// "@polywire/source" export condition), so no build is needed before testing.
export default defineConfig({
  resolve: { conditions: ["@polywire/source"] },
  ssr: { resolve: { conditions: ["@polywire/source"] } },
  test: {
    include: [
      "gen/test/**/*.test.ts",
      "spec/test/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "packages/*/src/**/*.test.ts",
      "scripts/test/**/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
