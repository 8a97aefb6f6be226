/**
 * Reading a Pub/Sub dead-letter subscription without consuming it (docs/queue.md, "Status on the other
 * backends"): pull, two pulls in flight at a time, until DEAD_EMPTY_PULLS pulls in a row bring nothing
 * new; hide what was read while reading, and give it all back (a deadline of 0) at the end, also when
 * the read stops early or fails. With a time budget (`status`) the read may stop before that: the
 * count it returns is then a lower bound, and says so.
 *
 * The service answers a waiting pull as soon as it has messages, and holds an empty one until its
 * deadline, so "nothing left" is a pull that timed out. A pull that times out while its answer is on
 * the way looks the same, and the messages in it stay hidden until the subscription's ack deadline:
 * so a bounded read probes with small pulls and a short deadline (a small answer arrives in about one
 * round trip), and asks for full batches, with a long deadline, only after a full answer.
 */
import type { google } from '@google-cloud/pubsub/build/protos/protos';
import { MIN_ACK_DEADLINE_SECONDS } from './pubsubAdmin';
import { SECOND } from './pubsubClient';

export type ReceivedMessage = google.pubsub.v1.IReceivedMessage;

/** What one pull brought, and whether its deadline passed first (then it brought nothing). */
export interface PullAnswer {
  readonly received: ReceivedMessage[];
  readonly timedOut: boolean;
}

/** The two calls the reader makes on the dead-letter subscription. */
export interface DeadLetterCalls {
  /** One pull of up to `maxMessages` that waits for messages at most `timeoutMs`. */
  pull(maxMessages: number, timeoutMs: number): Promise<PullAnswer>;
  setDeadline(ackIds: string[], seconds: number, action: string): Promise<void>;
}

export interface DeadLetterRead {
  /** Distinct dead letters read (and given back, unless `visit` acked them). */
  readonly read: number;
  /** True when the read ended because nothing new came: `read` is then every dead letter. */
  readonly complete: boolean;
}

/** Empty pulls in a row that end the read. */
export const DEAD_EMPTY_PULLS = 2;
/** What a full pull asks for (a batch, as the publisher sends them). */
export const FULL_PULL_MESSAGES = 1000;
/** A bounded read's probing pull: small enough to arrive in about one round trip. */
export const PROBE_PULL_MESSAGES = 100;
/** How long a full pull may take (and an unbounded read's pull wait for messages). */
const FULL_PULL_MS = 3 * SECOND;
/**
 * How long a probing pull waits before "nothing left" (pstest answers an empty pull after 500 ms;
 * the service, as soon as it has messages). Every probe may wait this long, budget or not.
 */
export const EMPTY_PULL_MS = 500;
/** On a slow link a probe waits this many round trips instead, so that an answer on its way arrives. */
const PROBE_ROUND_TRIPS = 2;
/** How long an unbounded read (`failures`, `requeue`) hides what it read before giving it back. */
const PEEK_SECONDS = 300;
/** Give-back calls in flight at once at the end of a read (each carries one pull's ack ids). */
const GIVE_BACK_CALLS = 8;

export interface DeadLetterReadOptions {
  /**
   * Start no pull after this many ms but the first ones; a read then ends within about budgetMs +
   * EMPTY_PULL_MS (up to FULL_PULL_MS if a full pull is on its way). Without it, read everything.
   */
  readonly budgetMs?: number;
  /** How long a call to the service took (the first one, connecting, is a safe overestimate). */
  readonly roundTripMs?: number;
  /** Called with each pull's new messages, in order; it may ack them (requeue) or leave them hidden. */
  readonly visit: (messages: ReceivedMessage[]) => Promise<void>;
}

interface Pull {
  readonly number: number;
  readonly maxMessages: number;
}

const idOf = (message: ReceivedMessage) => message.message?.messageId ?? '';
const ackIdOf = (message: ReceivedMessage) => message.ackId ?? '';

export async function readDeadLetterSubscription(
  calls: DeadLetterCalls,
  { budgetMs, roundTripMs = 0, visit }: DeadLetterReadOptions,
): Promise<DeadLetterRead> {
  const bounded = budgetMs !== undefined;
  const until = bounded ? Date.now() + budgetMs : Infinity;
  // A pull leases what it brings for the subscription's ack deadline (at least 10 s): enough for a short read.
  const hideSeconds = !bounded || budgetMs > MIN_ACK_DEADLINE_SECONDS * SECOND ? PEEK_SECONDS : 0;
  const probeMs = Math.min(FULL_PULL_MS, Math.max(EMPTY_PULL_MS, PROBE_ROUND_TRIPS * roundTripMs));
  const seen = new Set<string>();
  const hidden: string[][] = [];
  // Pulls in flight by number, each answering with itself: taken as they answer, not as they were sent.
  const inFlight = new Map<number, Promise<readonly [Pull, PullAnswer]>>();
  let pulls = 0;
  let emptyInARow = 0;
  let lastWasFull = false;
  /** A full pull timed out: what it carried is hidden for the ack deadline, so the count cannot be exact. */
  let missedSome = false;

  const nextPull = (): { maxMessages: number; timeoutMs: number } | undefined => {
    const left = until - Date.now();
    if (pulls >= DEAD_EMPTY_PULLS && left <= 0) return undefined; // the first ones start, whatever the budget
    if (!bounded || lastWasFull) return { maxMessages: FULL_PULL_MESSAGES, timeoutMs: FULL_PULL_MS };
    return { maxMessages: PROBE_PULL_MESSAGES, timeoutMs: Math.min(FULL_PULL_MS, Math.max(probeMs, left)) };
  };

  // As many pulls in flight as empty ones are still needed to end the read, so none is left over at its end.
  const startPulls = () => {
    while (inFlight.size < DEAD_EMPTY_PULLS - emptyInARow) {
      const next = nextPull();
      if (!next) return;
      const pull: Pull = { number: pulls++, maxMessages: next.maxMessages };
      const answer = calls.pull(next.maxMessages, next.timeoutMs).then((got) => [pull, got] as const);
      answer.catch(() => undefined); // awaited below, or in `finally`; not an unhandled rejection meanwhile
      inFlight.set(pull.number, answer);
    }
  };

  try {
    startPulls();
    while (inFlight.size > 0) {
      const [pull, { received, timedOut }] = await Promise.race(inFlight.values());
      inFlight.delete(pull.number);
      const fresh = received.filter((m) => !seen.has(idOf(m)));
      const stale = received.filter((m) => seen.has(idOf(m))).map(ackIdOf);
      await calls.setDeadline(stale, 0, 'give back dead letters to');
      lastWasFull = received.length >= pull.maxMessages;
      if (fresh.length > 0) {
        emptyInARow = 0;
        for (const m of fresh) seen.add(idOf(m));
        hidden.push(fresh.map(ackIdOf));
        if (hideSeconds > 0) await calls.setDeadline(fresh.map(ackIdOf), hideSeconds, 'read dead letters from');
        await visit(fresh);
      } else if (timedOut && bounded && pull.maxMessages > PROBE_PULL_MESSAGES) missedSome = true;
      else emptyInARow++;
      if (emptyInARow < DEAD_EMPTY_PULLS) startPulls();
    }
  } finally {
    // Pulls still in flight when a call failed: what they bring is given back too.
    for (const late of await Promise.allSettled(inFlight.values())) {
      if (late.status === 'fulfilled' && late.value[1].received.length > 0) {
        hidden.push(late.value[1].received.map(ackIdOf));
      }
    }
    for (let i = 0; i < hidden.length; i += GIVE_BACK_CALLS) {
      const batch = hidden.slice(i, i + GIVE_BACK_CALLS);
      await Promise.all(batch.map((ackIds) => calls.setDeadline(ackIds, 0, 'give back dead letters to')));
    }
  }
  return { read: seen.size, complete: emptyInARow >= DEAD_EMPTY_PULLS && !missedSome };
}
