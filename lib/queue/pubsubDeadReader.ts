/**
 * Reading a Pub/Sub dead-letter subscription without consuming it (docs/queue.md, "Status on the other
 * backends"): pull, two pulls in flight at a time, until DEAD_EMPTY_PULLS pulls in a row bring nothing
 * new; hide what was read while reading, and give it all back (a deadline of 0) at the end, also when
 * the read stops early or fails. With a time budget (`status`) the read may stop before that: the
 * count it returns is then a lower bound, and says so.
 */
import type { google } from '@google-cloud/pubsub/build/protos/protos';
import { MIN_ACK_DEADLINE_SECONDS } from './pubsubAdmin';
import { SECOND } from './pubsubClient';

export type ReceivedMessage = google.pubsub.v1.IReceivedMessage;

/** The two calls the reader makes on the dead-letter subscription. */
export interface DeadLetterCalls {
  /** One pull of up to a batch that waits for messages at most `timeoutMs`; [] when none came. */
  pull(timeoutMs: number): Promise<ReceivedMessage[]>;
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
/** How long a pull waits for messages in an unbounded read (the service holds an empty pull that long). */
const FULL_READ_PULL_MS = 3 * SECOND;
/**
 * The shortest wait after which an empty pull is taken to mean "nothing left": pstest answers an empty
 * pull after 500 ms; the service answers a waiting pull as soon as it has messages, so a pull that
 * hears nothing for this long finds none. Every pull may wait this long, budget or not.
 */
export const EMPTY_PULL_MS = 500;
/** How long an unbounded read (`failures`, `requeue`) hides what it read before giving it back. */
const PEEK_SECONDS = 300;
/** Give-back calls in flight at once at the end of a read (each carries one pull's ack ids). */
const GIVE_BACK_CALLS = 8;

export interface DeadLetterReadOptions {
  /**
   * Start no pull after this many ms but the first ones; as each pull may still wait EMPTY_PULL_MS,
   * a read ends within about budgetMs + EMPTY_PULL_MS. Without it, read everything.
   */
  readonly budgetMs?: number;
  /** Called with each pull's new messages, in order; it may ack them (requeue) or leave them hidden. */
  readonly visit: (messages: ReceivedMessage[]) => Promise<void>;
}

const idOf = (message: ReceivedMessage) => message.message?.messageId ?? '';
const ackIdOf = (message: ReceivedMessage) => message.ackId ?? '';

export async function readDeadLetterSubscription(
  calls: DeadLetterCalls,
  { budgetMs, visit }: DeadLetterReadOptions,
): Promise<DeadLetterRead> {
  const until = budgetMs === undefined ? Infinity : Date.now() + budgetMs;
  // A pull leases what it brings for the subscription's ack deadline (at least 10 s): enough for a short read.
  const hideSeconds = budgetMs === undefined || budgetMs > MIN_ACK_DEADLINE_SECONDS * SECOND ? PEEK_SECONDS : 0;
  const seen = new Set<string>();
  const hidden: string[][] = [];
  // Pulls in flight by number, each answering with its number: taken as they answer, not as they were sent.
  const inFlight = new Map<number, Promise<readonly [number, ReceivedMessage[]]>>();
  let pulls = 0;
  let emptyInARow = 0;

  // As many pulls in flight as empty ones are still needed to end the read, so none is left over at its end.
  const startPulls = () => {
    while (inFlight.size < DEAD_EMPTY_PULLS - emptyInARow) {
      const left = until - Date.now();
      if (pulls >= DEAD_EMPTY_PULLS && left <= 0) return; // the first ones start, whatever the budget
      const number = pulls++;
      const timeoutMs = Math.min(FULL_READ_PULL_MS, Math.max(EMPTY_PULL_MS, left));
      const pull = calls.pull(timeoutMs).then((received) => [number, received] as const);
      pull.catch(() => undefined); // awaited below, or in `finally`; not an unhandled rejection meanwhile
      inFlight.set(number, pull);
    }
  };

  try {
    startPulls();
    while (inFlight.size > 0) {
      const [number, received] = await Promise.race(inFlight.values());
      inFlight.delete(number);
      const fresh = received.filter((m) => !seen.has(idOf(m)));
      const stale = received.filter((m) => seen.has(idOf(m))).map(ackIdOf);
      await calls.setDeadline(stale, 0, 'give back dead letters to');
      if (fresh.length === 0) emptyInARow++;
      else {
        emptyInARow = 0;
        for (const m of fresh) seen.add(idOf(m));
        hidden.push(fresh.map(ackIdOf));
        if (hideSeconds > 0) await calls.setDeadline(fresh.map(ackIdOf), hideSeconds, 'read dead letters from');
        await visit(fresh);
      }
      if (emptyInARow < DEAD_EMPTY_PULLS) startPulls();
    }
  } finally {
    // Pulls still in flight when a call failed: what they bring is given back too.
    for (const late of await Promise.allSettled(inFlight.values())) {
      if (late.status === 'fulfilled' && late.value[1].length > 0) hidden.push(late.value[1].map(ackIdOf));
    }
    for (let i = 0; i < hidden.length; i += GIVE_BACK_CALLS) {
      const batch = hidden.slice(i, i + GIVE_BACK_CALLS);
      await Promise.all(batch.map((ackIds) => calls.setDeadline(ackIds, 0, 'give back dead letters to')));
    }
  }
  return { read: seen.size, complete: emptyInARow >= DEAD_EMPTY_PULLS };
}
