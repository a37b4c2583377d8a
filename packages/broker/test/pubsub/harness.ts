// A stand-in for the session around the pub/sub core: it owns an endpoint,
// counts wakes, and writes deliveries into arrays instead of a socket. The
// clock is a number the test moves.
import { PubSubRouter, type Endpoint, type EndpointOptions, type SlowConsumerNotice } from "../../src/pubsub/index.js";

export interface Message {
  readonly subject: string;
  readonly body: string;
}

export interface Received {
  readonly subscriptionId: number;
  readonly sequence: number;
  readonly message: Message;
}

export class Clock {
  now = 0;
  readonly read = (): number => this.now;
}

export function router(clock = new Clock(), options: { cacheSize?: number; defaultMaxPending?: number } = {}): { router: PubSubRouter<Message>; clock: Clock } {
  return { router: new PubSubRouter<Message>({ clock: clock.read, ...options }), clock };
}

/** One connection's session, as far as pub/sub sees it. */
export class Conn {
  readonly endpoint: Endpoint<Message>;
  readonly received: Received[] = [];
  readonly notices: SlowConsumerNotice[] = [];
  wakes = 0;

  constructor(router: PubSubRouter<Message>, options?: EndpointOptions) {
    this.endpoint = router.endpoint({ wake: () => void this.wakes++ }, options);
  }

  /** Writes up to `limit` queued deliveries. */
  drain(limit = Number.POSITIVE_INFINITY): number {
    let left = limit;
    if (left <= 0) return 0;
    return this.endpoint.drain((sub, sequence, message) => {
      this.received.push({ subscriptionId: sub.id, sequence, message });
      return --left > 0;
    });
  }

  takeNotices(): SlowConsumerNotice[] {
    const taken = this.endpoint.takeNotices();
    this.notices.push(...taken);
    return taken;
  }

  of(subscriptionId: number): Received[] {
    return this.received.filter((r) => r.subscriptionId === subscriptionId);
  }

  dropsNoticed(subscriptionId: number): number {
    return this.notices.filter((n) => n.subscriptionId === subscriptionId).reduce((sum, n) => sum + n.dropped, 0);
  }
}

let serial = 0;
export function message(subject: string, body = `m${++serial}`): Message {
  return { subject, body };
}

/** Sum of the sequence gaps of one subscription's deliveries: how many it missed (PW-PUBSUB-024), given how many were routed. */
export function missed(deliveries: readonly Received[], routed: number): number {
  let previous = 0;
  let gaps = 0;
  for (const d of deliveries) {
    if (d.sequence <= previous) throw new Error(`sequence ${d.sequence} after ${previous}`);
    gaps += d.sequence - previous - 1;
    previous = d.sequence;
  }
  return gaps + (routed - previous);
}
