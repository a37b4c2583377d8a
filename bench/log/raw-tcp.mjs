// Raw Node loopback TCP, the ceiling: echo round trips of one frame and
// bandwidth of 1 KiB writes, against tcp-peer.mjs in its own process.
import net from "node:net";
import { latency, now } from "./measure.mjs";

function dial(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Round trips of `frameBytes` through the echo server, one at a time, for `durationMs`. */
export async function echoLatency({ port, frameBytes, durationMs }) {
  const socket = await dial(port);
  const frame = Buffer.alloc(frameBytes, 0x61);
  let waiting = 0;
  let done;
  socket.on("data", (chunk) => {
    waiting -= chunk.byteLength;
    if (waiting === 0) done();
    else if (waiting < 0) throw new Error("the echo server sent more than it was sent");
  });
  try {
    return await latency({
      durationMs,
      once: () => new Promise((resolve) => {
        done = resolve;
        waiting = frameBytes;
        socket.write(frame);
      }),
    });
  } finally {
    socket.destroy();
  }
}

/**
 * Writes `writeBytes` buffers to the sink for `durationMs` (waiting for
 * 'drain' whenever the socket buffer is full), then ends and waits for the
 * sink's count of bytes received. MB/s = 10^6 bytes/s, the end included.
 */
export async function bandwidth({ port, writeBytes, durationMs }) {
  const socket = await dial(port);
  const chunk = Buffer.alloc(writeBytes, 0x62);
  const answer = [];
  const answered = new Promise((resolve, reject) => {
    socket.on("data", (data) => answer.push(data));
    socket.once("end", () => resolve(Buffer.concat(answer)));
    socket.once("error", reject);
  });
  let sent = 0;
  const started = now();
  while (now() - started < durationMs) {
    // Check the clock every 1 MiB or so; a full socket buffer waits for drain.
    for (let i = 0; i < 1024; i++) {
      sent += writeBytes;
      if (!socket.write(chunk)) {
        await new Promise((resolve) => socket.once("drain", resolve));
        break;
      }
    }
  }
  socket.end();
  const received = (await answered).readBigUInt64BE(0);
  const seconds = (now() - started) / 1000;
  socket.destroy();
  if (received !== BigInt(sent)) throw new Error(`the sink received ${received} bytes of ${sent}`);
  return { bytes: sent, seconds, mbps: sent / seconds / 1e6, rate: sent / writeBytes / seconds };
}
