// Every code block of every README runs as written on the Node running the
// tests (against real brokers the snippets start themselves), or says why it
// does not; see snippets.ts for the rules. The examples the READMEs show
// (examples/, packages/*/examples) run through these snippets too.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { built, parseSnippets, ReadmeRun, ROOT, runnable, type Snippet } from "./snippets.js";

const git = (...args: string[]): string => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" });

const READMES = git("ls-files", "--cached", "--others", "--exclude-standard", "--", "README.md", "*/README.md")
  .split("\n")
  .filter((f) => f !== "")
  .sort();

describe("README snippets", () => {
  it("every README of the repository is read (the list is not empty)", () => {
    expect(READMES).toContain("README.md");
    expect(READMES).toContain("packages/ts-runtime/README.md");
  });

  it("a block in a language that cannot run, or with a bad directive, is reported", () => {
    const md = "text\n\n```ts\nconst a: number = 1;\n```\n\n<!-- snippet: not run: a fragment -->\n```ts\nx\n```\n\n<!-- snippet: server -->\n```sh\nnpx polywire broker\n```\n";
    const [ts, skipped, server] = parseSnippets("X.md", md);
    expect([ts?.line, ts?.lang, ts?.directive.kind, runnable("ts")]).toEqual([3, "ts", "run", false]);
    expect(skipped?.directive).toEqual({ kind: "not run", reason: "a fragment" });
    expect([server?.directive.kind, server?.code]).toEqual(["server", "npx polywire broker\n"]);
    expect(() => parseSnippets("X.md", "<!-- snippet: sometimes -->\n```sh\nls\n```\n")).toThrow(/X.md:2: unknown snippet directive/);
  });

  it("a failing snippet, a ts block and a server that stops before it is ready fail their test", async () => {
    const md = "```sh\necho checking; exit 3\n```\n\n```js\nthrow new Error(\"from the snippet\");\n```\n\n```ts\nlet a = 1;\n```\n\n<!-- snippet: server -->\n```sh\necho starting; exit 1\n```\n";
    const [sh, js, ts, server] = parseSnippets("X.md", md) as [Snippet, Snippet, Snippet, Snippet];
    const run = await ReadmeRun.open();
    try {
      await expect(run.run(sh)).rejects.toThrow(/X.md:1: exited with 3[\s\S]*checking/);
      await expect(run.run(js)).rejects.toThrow(/X.md:5: exited with 1[\s\S]*from the snippet/);
      await expect(run.run(ts)).rejects.toThrow(/X.md:9: a `ts` block cannot run as written/);
      await expect(run.run(server)).rejects.toThrow(/X.md:14: the server did not print "ready" \(1\)[\s\S]*starting/);
    } finally {
      await run.close();
    }
  });
});

for (const file of READMES) {
  const snippets = parseSnippets(file, readFileSync(join(ROOT, file), "utf8"));
  if (snippets.length === 0) continue;
  describe(file, () => {
    let run: ReadmeRun | undefined;
    let checkout = "";
    beforeAll(async () => {
      if (!built()) throw new Error("the packages are not built: run `npm run build` first (`npm test` builds before it tests)");
      checkout = git("status", "--porcelain", "--untracked-files=all");
      run = await ReadmeRun.open();
    });
    afterAll(async () => {
      await run?.close();
    });
    for (const snippet of snippets) {
      const title = `${file}:${snippet.line} (${snippet.lang || "plain"}${snippet.directive.kind === "server" ? ", server" : ""})`;
      if (snippet.directive.kind === "not run") {
        it.skip(`${title}: not run: ${snippet.directive.reason}`, () => {});
        continue;
      }
      it(title, { timeout: 240_000 }, async () => {
        await (run as ReadmeRun).run(snippet);
      });
    }
    // The scratch directory links into the checkout: a snippet that writes
    // there (a build, `npm ci`, generation) must say `not run`.
    it(`${file}: its snippets leave the checkout as they found it`, () => {
      expect(git("status", "--porcelain", "--untracked-files=all")).toBe(checkout);
    });
  });
}
