// workerd test entry: the Worker imports the .wasm as a module, as a
// Cloudflare Worker would, and hands it to init().
import * as codec from "./dist/index.js";
import wasm from "./polywire_codec.wasm";
import { runLoaderSuite } from "./loader-suite.js";

export default {
  async test() {
    const results = await runLoaderSuite(codec, { init: () => codec.init(wasm) });
    console.log(`RESULTS ${JSON.stringify(results)}`);
  },
};
