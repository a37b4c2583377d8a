import { CodecError, invalid } from "./errors.js";
import { isInitialized, setInstance } from "./wasm.js";

// Resolves to dist/polywire_codec.wasm both from src/ (tests) and from dist/
// (the published loader); bundlers recognise this `new URL(…, import.meta.url)`
// form. Built lazily: where modules have no URL (workerd) it must not throw at import.
function packagedWasm(): URL {
  return new URL("../dist/polywire_codec.wasm", import.meta.url);
}

/** What `init()` accepts as the module to instantiate. */
export type InitSource = URL | string | BufferSource | WebAssembly.Module | Response | Promise<Response>;

interface FsLike {
  readFileSync(path: string | URL): Uint8Array<ArrayBuffer>;
  promises: { readFile(path: string | URL): Promise<Uint8Array<ArrayBuffer>> };
}

// Node, Deno and Bun expose node:fs through process.getBuiltinModule; looking
// it up at run time (never importing it) keeps the loader free of Node-only
// imports, so browsers and workerd never see it.
function fileSystem(): FsLike | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = typeof proc?.getBuiltinModule === "function" ? proc.getBuiltinModule("node:fs") : undefined;
  return fs as FsLike | undefined;
}

function isResponse(value: unknown): value is Response {
  return typeof Response === "function" && value instanceof Response;
}

function toLocation(source: URL | string): URL | string {
  if (source instanceof URL) return source;
  try {
    return new URL(source);
  } catch {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    // A relative string is a URL relative to the page in a browser, a file path elsewhere.
    return base === undefined ? source : new URL(source, base);
  }
}

// The module is kept with its instance: the codec makes a fresh instance of
// it after a failure or to release memory (see wasm.ts).
type Instantiated = WebAssembly.WebAssemblyInstantiatedSource;

async function instantiateResponse(response: Response): Promise<Instantiated> {
  if (!response.ok) {
    throw new CodecError("INVALID_ARGUMENT", `fetching the codec module failed: HTTP ${response.status} ${response.url}`);
  }
  if (typeof WebAssembly.instantiateStreaming === "function" && response.headers.get("content-type") === "application/wasm") {
    return WebAssembly.instantiateStreaming(response, {});
  }
  return WebAssembly.instantiate(await response.arrayBuffer(), {});
}

async function instantiate(source: Exclude<InitSource, Promise<Response>> | undefined): Promise<Instantiated> {
  if (source instanceof WebAssembly.Module) return { module: source, instance: await WebAssembly.instantiate(source, {}) };
  if (isResponse(source)) return instantiateResponse(source);
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
    return WebAssembly.instantiate(source as BufferSource, {});
  }
  if (source !== undefined && typeof source !== "string" && !(source instanceof URL)) {
    invalid("init() takes a URL, a path, bytes, a WebAssembly.Module or a Response");
  }
  const location = toLocation(source ?? packagedWasm());
  const fs = fileSystem();
  if (fs !== undefined && (typeof location === "string" || location.protocol === "file:")) {
    return WebAssembly.instantiate(await fs.promises.readFile(location), {});
  }
  if (typeof location === "string") invalid(`cannot read the file ${location} in this runtime: pass a URL or the bytes`);
  return instantiateResponse(await fetch(location));
}

let pending: Promise<void> | undefined;

/**
 * Instantiates the codec module; idempotent, and concurrent calls share one
 * instantiation. With no source it loads the packaged `.wasm` next to the
 * loader: from the file system in Node, Deno and Bun, with `fetch` in
 * browsers. In workerd pass the `WebAssembly.Module` the Worker imports.
 */
export function init(source?: InitSource): Promise<void> {
  if (isInitialized()) return Promise.resolve();
  pending ??= Promise.resolve(source)
    .then(instantiate)
    .then(({ instance, module }) => setInstance(instance, module))
    .catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
  return pending;
}

/**
 * Instantiates the codec module synchronously; idempotent. With no source it
 * reads the packaged `.wasm` where the runtime has a file system (Node, Deno,
 * Bun); browsers and workerd must pass the bytes or a `WebAssembly.Module`.
 */
export function initSync(source?: BufferSource | WebAssembly.Module): void {
  if (isInitialized()) return;
  let module: WebAssembly.Module;
  if (source instanceof WebAssembly.Module) {
    module = source;
  } else if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
    module = new WebAssembly.Module(source);
  } else if (source === undefined) {
    const fs = fileSystem();
    if (fs === undefined) {
      invalid("initSync() needs the module bytes or a WebAssembly.Module in this runtime; or use await init()");
    }
    module = new WebAssembly.Module(fs.readFileSync(packagedWasm()));
  } else {
    invalid("initSync() takes bytes or a WebAssembly.Module");
  }
  setInstance(new WebAssembly.Instance(module, {}), module);
}
