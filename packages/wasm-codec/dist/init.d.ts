/** What `init()` accepts as the module to instantiate. */
export type InitSource = URL | string | BufferSource | WebAssembly.Module | Response | Promise<Response>;
/**
 * Instantiates the codec module; idempotent, and concurrent calls share one
 * instantiation. With no source it loads the packaged `.wasm` next to the
 * loader: from the file system in Node, Deno and Bun, with `fetch` in
 * browsers. In workerd pass the `WebAssembly.Module` the Worker imports.
 */
export declare function init(source?: InitSource): Promise<void>;
/**
 * Instantiates the codec module synchronously; idempotent. With no source it
 * reads the packaged `.wasm` where the runtime has a file system (Node, Deno,
 * Bun); browsers and workerd must pass the bytes or a `WebAssembly.Module`.
 */
export declare function initSync(source?: BufferSource | WebAssembly.Module): void;
//# sourceMappingURL=init.d.ts.map