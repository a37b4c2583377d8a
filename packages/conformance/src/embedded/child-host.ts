/**
 * A broker process for the cases that kill one (PW-LOG-006, PW-LOG-034):
 * loads a {@link BrokerImplementation} by module URL and export name, starts
 * it on disk storage in the directory given with an admin listener, prints
 * `ready <data-url> <admin-url>` and serves until killed (SIGTERM: graceful
 * close).
 *
 *   child-host <module-url> <export-name> <data-dir> <listen-url>
 */
import type { BrokerImplementation } from "./implementation.js";

const [moduleUrl, exportName, dir, listen] = process.argv.slice(2);
if (moduleUrl === undefined || exportName === undefined || dir === undefined || listen === undefined) {
  process.stderr.write("usage: child-host <module-url> <export-name> <data-dir> <listen-url>\n");
  process.exit(2);
}
const module = (await import(moduleUrl)) as Record<string, BrokerImplementation | undefined>;
const implementation = module[exportName];
if (implementation === undefined) {
  process.stderr.write(`${moduleUrl} exports no ${exportName}\n`);
  process.exit(2);
}
const broker = await implementation.start({
  listeners: [listen],
  storage: { engine: "disk", dir, fsync: "never" },
  http: { port: 0 },
  drainDeadlineMs: 100,
});
process.stdout.write(`ready ${broker.urls[0] as string} ${broker.httpUrl as string}\n`);
// The runner holds our stdin open: when it goes away, so does this broker.
process.stdin.on("end", () => process.exit(1));
process.stdin.resume();
process.on("SIGTERM", () => {
  broker.close().then(() => process.exit(0), () => process.exit(1));
});
