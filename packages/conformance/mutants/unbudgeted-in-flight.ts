/**
 * Mutant: holds the produce requests a connection has in flight without
 * counting them in the inbound budget. Built as a proxy in front of the
 * reference broker that passes a connection's produce requests on one at a
 * time, each once the one before it is answered, and keeps the others
 * itself, uncounted: the broker sees one request in flight where the client
 * has many, so `max_in_flight` produces held up by slow storage escape the
 * bound. Breaks PW-LIM-012.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Broker } from "@polywire/broker";
import { Acks, ProduceRequestSchema } from "@polywire/proto/log";
import { FrameKind } from "@polywire/proto/session";
import type { BrokerImplementation, Mutant } from "../src/embedded/implementation.js";
import { FrameProxy, type ProxiedConnection } from "../src/wire/frame-proxy.js";
import type { WireFrame } from "../src/wire/frame.js";

/** One connection's produce requests: the one the broker has, and the ones the proxy keeps. */
interface Produces {
  /** Correlation id of the produce the broker is handling, if any. */
  inFlight: number | undefined;
  readonly waiting: Array<{ readonly raw: Uint8Array; readonly correlationId: number; readonly answered: boolean }>;
}

function answered(frame: WireFrame): boolean {
  try {
    return fromBinary(ProduceRequestSchema, frame.message).acks !== Acks.NONE;
  } catch {
    // Undecodable: the broker answers it with an Error.
    return true;
  }
}

/** Passes the next waiting produces to the broker, up to the first one that gets an answer. */
function passOn(produces: Produces, connection: ProxiedConnection): void {
  while (produces.inFlight === undefined && produces.waiting.length > 0) {
    const next = produces.waiting.shift() as Produces["waiting"][number];
    connection.toBroker(next.raw);
    if (next.answered) produces.inFlight = next.correlationId;
  }
}

async function startProxied(options: Parameters<BrokerImplementation["start"]>[0]): ReturnType<BrokerImplementation["start"]> {
  const requested = options.listeners ?? ["tcp://127.0.0.1:0"];
  // tcp:// listeners go through the proxy; the others reach the broker directly.
  const broker = await Broker.start({ ...options, listeners: requested.map((url) => (url.startsWith("tcp://") ? "tcp://127.0.0.1:0" : url)) });
  const byConnection = new Map<number, Produces>();
  const proxies: FrameProxy[] = [];
  const urls: string[] = [];
  for (const [i, url] of requested.entries()) {
    if (!url.startsWith("tcp://")) {
      urls.push(broker.urls[i] as string);
      continue;
    }
    const proxy = await FrameProxy.start(broker.urls[i] as string, {
      fromClient: (frame, raw, connection) => {
        if (frame.kind !== FrameKind.PRODUCE_REQUEST) return undefined;
        let produces = byConnection.get(connection.id);
        if (produces === undefined) byConnection.set(connection.id, produces = { inFlight: undefined, waiting: [] });
        produces.waiting.push({ raw: raw.slice(), correlationId: frame.correlationId, answered: answered(frame) });
        passOn(produces, connection);
        return "drop";
      },
      fromBroker: (frame, _raw, connection) => {
        const produces = byConnection.get(connection.id);
        if (produces !== undefined && produces.inFlight === frame.correlationId) {
          produces.inFlight = undefined;
          passOn(produces, connection);
        }
        return undefined;
      },
      closed: (connection) => byConnection.delete(connection.id),
    }, url);
    proxies.push(proxy);
    urls.push(proxy.url);
  }
  return {
    urls,
    httpUrl: broker.httpUrl,
    storage: broker.storage,
    close: async () => {
      for (const proxy of proxies) await proxy.close();
      await broker.close();
    },
  };
}

export const implementation: BrokerImplementation = {
  name: "mutant unbudgeted-in-flight",
  module: import.meta.url,
  exportName: "implementation",
  start: startProxied,
};

export const mutant: Mutant = {
  name: "unbudgeted-in-flight",
  description: "keeps the produce requests a connection has in flight outside the inbound budget",
  breaks: ["PW-LIM-012"],
  implementation,
};
