/**
 * Reads the fenced code blocks of a README and runs them as a reader would:
 * `sh` blocks with bash, `js` blocks as `.mjs` files with the Node running
 * the test, in document order, in one scratch directory per README.
 *
 * An HTML comment on the line before a block (invisible on the rendered
 * page) says how to treat it:
 *
 *   <!-- snippet: server -->          a long-running command (a broker):
 *                                     started in the background, ready once
 *                                     it prints a line `ready`, stopped
 *                                     when the next server starts or the
 *                                     README ends
 *   <!-- snippet: not run: <reason> -->  not run, and the reason is shown
 *
 * Without a comment a block runs and must exit 0. A block in any other
 * language (a `ts` block cannot run on Node as written) must say why it is
 * not run.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, delimiter, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type Directive =
  | { readonly kind: "run" }
  | { readonly kind: "server" }
  | { readonly kind: "not run"; readonly reason: string };

export interface Snippet {
  /** The README, relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  readonly directive: Directive;
}

const SHELL = new Set(["sh", "bash", "shell"]);
const JS = new Set(["js", "javascript", "mjs"]);

/** Whether a block of this language can run, as opposed to needing `not run`. */
export function runnable(lang: string): boolean {
  return SHELL.has(lang) || JS.has(lang);
}

function directiveOf(line: string, where: string): Directive {
  const match = /^<!--\s*snippet:\s*(.*?)\s*-->$/.exec(line);
  if (match === null) return { kind: "run" };
  const text = match[1] as string;
  if (text === "server") return { kind: "server" };
  const notRun = /^not run:\s*(\S.*)$/.exec(text);
  if (notRun !== null) return { kind: "not run", reason: notRun[1] as string };
  throw new Error(`${where}: unknown snippet directive ${JSON.stringify(text)} (use "server" or "not run: <reason>")`);
}

/** The fenced code blocks of a Markdown document, with their directives. */
export function parseSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split("\n");
  const snippets: Snippet[] = [];
  let previous = "";
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i] as string);
    if (open === null) {
      if ((lines[i] as string).trim() !== "") previous = (lines[i] as string).trim();
      continue;
    }
    const [, indent = "", fence = "```", lang = ""] = open;
    const closing = new RegExp(`^ *${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !closing.test(lines[j] as string); j++) {
      const text = lines[j] as string;
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text.trimStart());
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: code fence never closed`);
    snippets.push({ file, line: i + 1, lang: lang.toLowerCase(), code: `${body.join("\n")}\n`, directive: directiveOf(previous, `${file}:${i + 1}`) });
    previous = "";
    i = j;
  }
  return snippets;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The environment of a reader's shell: without what npm and vitest add (npm
 * puts node_modules/.bin on the PATH of `npm test`, where a reader's shell
 * has no `polywire` without npx), and with npx forbidden to download a
 * package the checkout lacks.
 */
function readerEnv(data: number, admin: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|POLYWIRE_)/i.test(key) || ["NODE_ENV", "TEST", "INIT_CWD", "NODE_OPTIONS"].includes(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes(`node_modules${sep}.bin`)).join(delimiter);
  return {
    ...env,
    npm_config_yes: "false",
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    npm_config_audit: "false",
    POLYWIRE_BROKER: `tcp://127.0.0.1:${data}`,
    POLYWIRE_ADMIN_URL: `http://127.0.0.1:${admin}`,
  };
}

interface Process {
  readonly exited: Promise<number | string>;
  readonly output: () => string;
  readonly stop: (signal: NodeJS.Signals) => void;
}

function start(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Process {
  // Its own process group, so that stopping it stops what it started (npx's node).
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) onLine?.(line);
  });
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.on("error", (error) => resolve(error.message));
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "exit"));
  });
  const stop = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // Already gone.
    }
  };
  return { exited, output: () => output, stop };
}

function timeout(ms: number): Promise<"timeout"> {
  return new Promise((resolve) => setTimeout(() => resolve("timeout"), ms).unref());
}

const SNIPPET_MS = 180_000;
const SERVER_READY_MS = 60_000;

/**
 * The snippets of one README, run in a scratch directory that mirrors the
 * checkout (its top-level entries are links), so paths like
 * `examples/go-admin` work as written while files a snippet creates stay out
 * of the repository. The README's ports, 7420 (data plane) and 7421 (admin
 * plane), become free ports of this run, since other tests and processes
 * share the machine; $POLYWIRE_BROKER and $POLYWIRE_ADMIN_URL point the CLI's
 * defaults at them.
 */
export class ReadmeRun {
  readonly #dir: string;
  readonly #data: number;
  readonly #admin: number;
  readonly #env: NodeJS.ProcessEnv;
  #server: Process | undefined;

  private constructor(dir: string, data: number, admin: number) {
    this.#dir = dir;
    this.#data = data;
    this.#admin = admin;
    this.#env = readerEnv(data, admin);
  }

  static async open(): Promise<ReadmeRun> {
    const dir = await mkdtemp(join(tmpdir(), "polywire-readme-"));
    for (const entry of await readdir(ROOT)) {
      if (entry !== ".git") await symlink(join(ROOT, entry), join(dir, entry));
    }
    return new ReadmeRun(dir, await freePort(), await freePort());
  }

  #localise(code: string): string {
    return code.replace(/\b7420\b/g, String(this.#data)).replace(/\b7421\b/g, String(this.#admin));
  }

  #failure(snippet: Snippet, what: string, output: string): Error {
    const server = this.#server === undefined ? "" : `\n--- the running server's output:\n${this.#server.output()}`;
    return new Error(`${snippet.file}:${snippet.line}: ${what}\n--- snippet (ports ${this.#data}, ${this.#admin}):\n${this.#localise(snippet.code)}--- output:\n${output}${server}`);
  }

  async #command(snippet: Snippet): Promise<[string, string[]]> {
    const code = this.#localise(snippet.code);
    if (SHELL.has(snippet.lang)) return ["bash", ["-e", "-o", "pipefail", "-c", code]];
    const file = join(this.#dir, `${basename(snippet.file, ".md")}-${snippet.line}.mjs`);
    await writeFile(file, code);
    return [process.execPath, [file]];
  }

  /** Runs one snippet; throws with its output unless it succeeded. */
  async run(snippet: Snippet): Promise<void> {
    if (!runnable(snippet.lang)) {
      throw new Error(`${snippet.file}:${snippet.line}: a \`${snippet.lang || "plain"}\` block cannot run as written: write it as sh or js, or put <!-- snippet: not run: <reason> --> before it`);
    }
    const [cmd, args] = await this.#command(snippet);
    if (snippet.directive.kind === "server") {
      await this.#stopServer();
      let ready!: () => void;
      const isReady = new Promise<"ready">((resolve) => (ready = () => resolve("ready")));
      const server = start(cmd, args, this.#dir, this.#env, (line) => line.trim() === "ready" && ready());
      this.#server = server;
      const outcome = await Promise.race([isReady, server.exited, timeout(SERVER_READY_MS)]);
      if (outcome !== "ready") throw this.#failure(snippet, `the server did not print "ready" (${outcome})`, server.output());
      return;
    }
    const child = start(cmd, args, this.#dir, this.#env);
    const outcome = await Promise.race([child.exited, timeout(SNIPPET_MS)]);
    // Anything the snippet left running in the background goes with it.
    child.stop(outcome === "timeout" ? "SIGKILL" : "SIGTERM");
    if (outcome !== 0) throw this.#failure(snippet, outcome === "timeout" ? `still running after ${SNIPPET_MS} ms` : `exited with ${outcome}`, child.output());
  }

  async #stopServer(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.stop("SIGTERM");
    if ((await Promise.race([server.exited, timeout(15_000)])) === "timeout") server.stop("SIGKILL");
  }

  async close(): Promise<void> {
    await this.#stopServer();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** Whether the packages are built: README snippets import their dist/. */
export function built(): boolean {
  return ["packages/ts-runtime", "packages/broker", "packages/cli", "packages/conformance"].every((p) => existsSync(join(ROOT, p, "dist/index.js")));
}
