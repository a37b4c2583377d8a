// How threads find a `worker://name` listener (PW-TRANS-013). Threads share
// no registry, so a port must be carried from the listener's thread to the
// dialer's by the application, once, as it starts the thread:
//
//   // the broker's thread, listening on worker://bus
//   const worker = new Worker(file, { workerData: { bus: workerPort("bus") }, transferList: [...] });
//   // the other thread
//   registerWorkerPort("bus", workerData.bus);
//   const client = await connect("worker://bus");
//
// That port is a rendezvous: each dial makes a fresh MessageChannel and
// sends one end through it, so one registered port serves any number of
// connections, reconnects included. A listener in the dialer's own thread
// is reached without one.
import { PolywireError } from "../errors.js";
import type { DialOptions, Transport } from "./transport.js";
import { ACCEPTED, ACCEPTED_PUBSUB, RESET, WorkerTransport, type WorkerPort } from "./worker.js";

/** A `worker://name` listener in this thread. */
export interface WorkerListener {
  readonly name: string;
  /** `worker://name`. */
  readonly url: string;
  /** Stops accepting and closes the ports handed out; open connections are not affected. */
  close(): void;
}

interface Listening {
  accept(port: WorkerPort): void;
  readonly rendezvous: Set<WorkerPort>;
}

interface Registry {
  readonly listeners: Map<string, Listening>;
  readonly routes: Map<string, WorkerPort>;
}

const CONNECT = "polywire-worker-connect";

// One registry per thread, shared by every copy of this package in it.
const registryKey = Symbol.for("@polywire/core/worker-registry");
function registry(): Registry {
  const g = globalThis as Record<symbol, Registry | undefined>;
  let r = g[registryKey];
  if (r === undefined) {
    r = { listeners: new Map(), routes: new Map() };
    g[registryKey] = r;
  }
  return r;
}

function channel(): { port1: WorkerPort; port2: WorkerPort } {
  if (typeof MessageChannel !== "function") throw new PolywireError("INVALID_ARGUMENT", "worker:// needs MessageChannel, which this runtime lacks");
  return new MessageChannel() as unknown as { port1: WorkerPort; port2: WorkerPort };
}

/** Listens on `worker://name` in this thread; `accept` gets the broker's end of each connection. */
export function listenWorker(name: string, accept: (transport: Transport) => void): WorkerListener {
  const { listeners } = registry();
  if (listeners.has(name)) throw new PolywireError("INVALID_ARGUMENT", `worker://${name} is already in use in this thread`);
  const listening: Listening = {
    rendezvous: new Set(),
    accept: (port) => {
      const transport = new WorkerTransport(port, `worker://${name}#client`);
      // The owner provides its pub/sub plane, if it takes records, while it accepts (PW-TRANS-012).
      accept(transport);
      port.postMessage(transport.takesRecords ? ACCEPTED_PUBSUB : ACCEPTED);
    },
  };
  listeners.set(name, listening);
  return {
    name,
    url: `worker://${name}`,
    close: () => {
      if (listeners.get(name) !== listening) return;
      listeners.delete(name);
      for (const port of listening.rendezvous) port.close();
      listening.rendezvous.clear();
    },
  };
}

/**
 * In the thread listening on `worker://name`: a new port to hand to another
 * thread (transfer it), where `registerWorkerPort(name, port)` lets
 * `worker://name` be dialed. Throws CONNECTION_LOST if nothing listens.
 */
export function workerPort(name: string): MessagePort {
  const listening = registry().listeners.get(name);
  if (listening === undefined) throw new PolywireError("CONNECTION_LOST", `nothing listens on worker://${name} in this thread`);
  const { port1, port2 } = channel();
  port1.addEventListener("message", (event) => {
    const data = event.data as { kind?: unknown; port?: unknown } | undefined;
    if (data?.kind !== CONNECT || typeof (data.port as WorkerPort | undefined)?.postMessage !== "function") return;
    if (registry().listeners.get(name) === listening) listening.accept(data.port as WorkerPort);
    else (data.port as WorkerPort).postMessage(RESET);
  });
  port1.start();
  listening.rendezvous.add(port1);
  return port2 as unknown as MessagePort;
}

/**
 * In a thread that dials `worker://name`: `port` (from `workerPort(name)`
 * in the listener's thread) is the way there. A later registration of the
 * same name replaces it.
 */
export function registerWorkerPort(name: string, port: MessagePort | WorkerPort): void {
  const p = port as WorkerPort & { unref?: () => void };
  if (typeof p?.postMessage !== "function" || typeof p.start !== "function") throw new PolywireError("INVALID_ARGUMENT", "registerWorkerPort needs a MessagePort");
  const { routes } = registry();
  routes.set(name, p);
  // The route alone must not keep a Node thread alive; connections do.
  p.unref?.();
  p.addEventListener("close", () => {
    if (routes.get(name) === p) routes.delete(name);
  });
}

/**
 * Connects to `worker://name`: a listener in this thread, or the one a
 * registered port leads to. CONNECTION_LOST when neither exists or the
 * listener refuses; TIMEOUT when it does not answer in time (its thread
 * is busy or gone), CANCELLED on `signal`.
 */
export async function dialWorker(name: string, options: DialOptions = {}): Promise<Transport> {
  const { listeners, routes } = registry();
  const local = listeners.get(name);
  const route = routes.get(name);
  if (local === undefined && route === undefined) {
    throw new PolywireError("CONNECTION_LOST", `nothing listens on worker://${name} in this thread and no port is registered for it (registerWorkerPort)`);
  }
  const { port1, port2 } = channel();
  const transport = new WorkerTransport(port1, `worker://${name}`);
  const accepted = transport.accepted();
  if (local !== undefined) local.accept(port2);
  else (route as WorkerPort).postMessage({ kind: CONNECT, port: port2 }, [port2]);
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PolywireError("TIMEOUT", `worker://${name} did not answer within ${timeoutMs} ms`)), timeoutMs);
    onAbort = () => reject(PolywireError.from(options.signal?.reason, "CANCELLED"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([accepted.catch((cause: unknown) => {
      throw new PolywireError("CONNECTION_LOST", `worker://${name} refused the connection`, { cause });
    }), failed]);
  } catch (error) {
    transport.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) options.signal?.removeEventListener("abort", onAbort);
  }
  return transport;
}
