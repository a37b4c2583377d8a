// The raw Node TCP ceiling of the log-plane benchmark, run as its own
// process (as the broker is): an echo server (every byte back as it comes)
// and a sink (counts what it reads; when the writer ends its side, answers
// the count as a 64-bit integer and closes). Prints "echo <port> sink <port>".
import net from "node:net";

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}

const echo = net.createServer({ noDelay: true }, (socket) => {
  socket.on("data", (chunk) => socket.write(chunk));
  socket.on("error", () => socket.destroy());
});

const sink = net.createServer({ allowHalfOpen: true }, (socket) => {
  let received = 0;
  socket.on("data", (chunk) => {
    received += chunk.byteLength;
  });
  socket.on("end", () => {
    const answer = Buffer.alloc(8);
    answer.writeBigUInt64BE(BigInt(received));
    socket.end(answer);
  });
  socket.on("error", () => socket.destroy());
});

const [echoPort, sinkPort] = await Promise.all([listen(echo), listen(sink)]);
process.stdout.write(`echo ${echoPort} sink ${sinkPort}\n`);
process.on("SIGTERM", () => {
  echo.close();
  sink.close();
  process.exit(0);
});
