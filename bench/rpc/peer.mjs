// A request/reply peer of the benchmarks, in its own process so that its
// memory is its own:
//   node bench/rpc/peer.mjs responder <url>
//     serves "bench.sink" (reads a request body, answers its size) and
//     "bench.source" (streams `method` bytes as the reply) and "bench.echo"
//     (answers its request body); prints "ready".
//   node bench/rpc/peer.mjs caller <url> <bytes>
//     prints "ready", then on each line "up" or "down" of standard input
//     streams <bytes> to bench.sink or from bench.source and prints
//     "up <seconds>" / "down <seconds>"; "quit" ends it.
import { createInterface } from "node:readline";
import { connect } from "@polywire/runtime";

const [role, url, size] = process.argv.slice(2);
const CHUNK = new Uint8Array(64 * 1024).fill(7);
const client = await connect(url, { clientId: `bench-${role}` });

async function* bytes(n) {
  for (let left = n; left > 0; left -= CHUNK.byteLength) yield left >= CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, left);
}

if (role === "responder") {
  const sink = client.serve("bench.sink", async (req) => {
    let n = 0;
    for await (const chunk of req.body) n += chunk.byteLength;
    return String(n);
  }, { concurrency: 0 });
  const source = client.serve("bench.source", (req) => bytes(Number(req.method)), { concurrency: 0 });
  const echo = client.serve("bench.echo", (req) => req.body, { concurrency: 0 });
  await Promise.all([sink.ready, source.ready, echo.ready]);
  console.log("ready");
} else {
  const total = Number(size);
  console.log("ready");
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "quit") break;
    const started = performance.now();
    if (line === "up") {
      const call = await client.call("bench.sink", { timeout: 600_000 });
      const sending = call.send(bytes(total));
      const reply = await call.reply;
      const got = Number(await reply.body.text());
      await sending;
      if (got !== total) throw new Error(`the responder read ${got} bytes of ${total}`);
    } else {
      const call = await client.call("bench.source", { method: String(total), timeout: 600_000 });
      call.end();
      let got = 0;
      for await (const chunk of (await call.reply).body) got += chunk.byteLength;
      if (got !== total) throw new Error(`the caller read ${got} bytes of ${total}`);
    }
    console.log(`${line} ${(performance.now() - started) / 1000}`);
  }
  await client.close();
  process.exit(0);
}
